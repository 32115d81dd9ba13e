import { QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { WagmiProvider } from "wagmi";
import { App } from "./App.tsx";
import { DeploymentContext } from "./DeploymentContext.ts";
import { loadDeployment } from "./deployment.ts";
import "./styles.css";
import { createWagmiConfig, queryClient } from "./wagmi.ts";

const root = createRoot(document.getElementById("root")!);

loadDeployment().then(
  (deployment) =>
    root.render(
      <StrictMode>
        <DeploymentContext.Provider value={deployment}>
          <WagmiProvider config={createWagmiConfig(deployment)}>
            <QueryClientProvider client={queryClient}>
              <App />
            </QueryClientProvider>
          </WagmiProvider>
        </DeploymentContext.Provider>
      </StrictMode>,
    ),
  (error: Error) => root.render(<p className="fatal">{error.message}</p>),
);
