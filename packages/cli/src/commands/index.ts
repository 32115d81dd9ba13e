import type { Command } from "../command.ts";
import { clientChatCommand } from "./clientChat.ts";
import { clientCloseCommand } from "./clientClose.ts";
import { clientHostsCommand } from "./clientHosts.ts";
import { clientOpenCommand } from "./clientOpen.ts";
import { clientPricingCommand } from "./clientPricing.ts";
import { clientListCommand } from "./clientList.ts";
import { clientStatusCommand } from "./clientStatus.ts";
import { clientTimeoutCommand } from "./clientTimeout.ts";
import { clientWithdrawRefundCommand } from "./clientWithdrawRefund.ts";
import { devMintCommand } from "./devMint.ts";
import { demoCommand } from "./demo.ts";
import { deployCommand } from "./deploy.ts";
import { hostEarningsCommand } from "./hostEarnings.ts";
import { hostInitCommand } from "./hostInit.ts";
import { hostMigrateStoreCommand } from "./hostMigrateStore.ts";
import { hostRegisterCommand } from "./hostRegister.ts";
import { hostStartCommand } from "./hostStart.ts";
import { hostUpdatePricingCommand } from "./hostUpdatePricing.ts";
import { hostWithdrawCommand } from "./hostWithdraw.ts";
import { modelAddCommand } from "./modelAdd.ts";
import { treasuryWithdrawCommand } from "./treasuryWithdraw.ts";

/** Every command of the CLI, one file each. */
export const commands: Command[] = [
  demoCommand,
  deployCommand,
  modelAddCommand,
  hostInitCommand,
  hostRegisterCommand,
  hostUpdatePricingCommand,
  hostStartCommand,
  hostEarningsCommand,
  hostWithdrawCommand,
  hostMigrateStoreCommand,
  clientHostsCommand,
  clientPricingCommand,
  clientOpenCommand,
  clientChatCommand,
  clientCloseCommand,
  clientStatusCommand,
  clientListCommand,
  clientTimeoutCommand,
  clientWithdrawRefundCommand,
  treasuryWithdrawCommand,
  devMintCommand,
];
