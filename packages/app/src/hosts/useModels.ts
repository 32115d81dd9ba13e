import { modelRegistryAbi } from "@session-jobs/sdk";
import { useQuery } from "@tanstack/react-query";
import type { Hex } from "viem";
import { usePublicClient } from "wagmi";
import { useDeployment } from "../DeploymentContext.ts";

export type ModelChoice = { id: Hex; name: string };

/** The approved models in the ModelRegistry, by name. */
export function useModels() {
  const deployment = useDeployment();
  const client = usePublicClient();
  return useQuery({
    queryKey: ["models", deployment.modelRegistry],
    enabled: Boolean(client),
    queryFn: async (): Promise<ModelChoice[]> => {
      const ids = await client!.readContract({ address: deployment.modelRegistry, abi: modelRegistryAbi, functionName: "getAllModels" });
      const models = await Promise.all(
        ids.map(async (id) => ({
          id,
          model: await client!.readContract({ address: deployment.modelRegistry, abi: modelRegistryAbi, functionName: "getModel", args: [id] }),
        })),
      );
      return models.filter(({ model }) => model.approved).map(({ id, model }) => ({ id, name: `${model.repo}/${model.fileName}` }));
    },
  });
}
