import { describe, expect, it } from "vitest";
import { jobMarketplaceWithModelsAbi } from "../generated/abis.ts";

/**
 * The seed reads `sessionJobs(jobId)` through ethers v5 and calls `.eq`/`.mul` on `provenTokens`
 * and `checkpointInterval`: ethers v5 decodes integers of 48 bits or fewer to JS numbers, so every
 * amount and count the getter returns must be a uint256 in the ABI (audit finding, issue 10).
 */
describe("sessionJobs getter", () => {
  it("returns every amount and count as uint256", () => {
    const getter = jobMarketplaceWithModelsAbi.find((item) => item.type === "function" && item.name === "sessionJobs");
    if (getter?.type !== "function") throw new Error("sessionJobs is missing from the ABI");
    const fields = (getter.outputs[0] as { components: readonly { name: string; type: string }[] }).components;
    const narrow = fields.filter((field) => /^u?int/.test(field.type) && field.type !== "uint256" && field.name !== "status");
    expect(narrow).toEqual([]);
    expect(fields.find((field) => field.name === "provenTokens")?.type).toBe("uint256");
    expect(fields.find((field) => field.name === "checkpointInterval")?.type).toBe("uint256");
  });
});
