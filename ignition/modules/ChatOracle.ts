/**
 * Hardhat Ignition module of chat-oracle's contracts over an existing ERC-20 stake token (parameter `stakeToken`):
 * BlockhashRandomness, ValidatorRegistry, ChatRecordRegistry, the chat registry's SLASHER_ROLE and stake lock, and the
 * registered model. The same steps as scripts/lib/deploy.ts's `deployAll`, resumable (Ignition keeps a journal under
 * ignition/deployments/<id>/). scripts/deployIgnition.ts fills in the model's hash and limits and writes
 * deployments/<network>.json; `ChatOracleDemoToken` deploys the mintable DemoToken as the stake token first.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { ArgumentType, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";
import { DEFAULT_CHAT_CONFIG, DEFAULT_MODEL_ID } from "../../scripts/lib/deploy";

/** The contracts over `stakeToken` (an address parameter or a DemoToken future), with the defaults of `deployAll`. */
export function buildChatOracle(m: IgnitionModuleBuilder, stakeToken: ArgumentType) {
  const admin = m.getAccount(0);
  const randomness = m.contract("BlockhashRandomness");
  const validatorRegistry = m.contract("ValidatorRegistry", [
    stakeToken,
    m.getParameter("stakeUnit", 10n ** 18n),
    m.getParameter("minimumStake", 100n * 10n ** 18n),
    m.getParameter("unbondingPeriod", 7n * 24n * 3600n),
    m.getParameter("treasury", admin),
    admin,
  ]);
  const chatRegistry = m.contract("ChatRecordRegistry", [
    validatorRegistry,
    randomness,
    m.getParameter("commitWindow", 300),
    m.getParameter("revealWindow", 300),
    m.getParameter("config", { ...DEFAULT_CHAT_CONFIG }),
    admin,
  ]);
  const slasherRole = m.staticCall(validatorRegistry, "SLASHER_ROLE");
  m.call(validatorRegistry, "grantRole", [slasherRole, chatRegistry]);
  // Seated stake stays slashable until its seat is settled.
  m.call(validatorRegistry, "setStakeLock", [chatRegistry]);
  m.call(chatRegistry, "registerModel", [
    m.getParameter("modelId", DEFAULT_MODEL_ID),
    m.getParameter<string>("modelHash"),
    m.getParameter("modelLimits"),
    m.getParameter("modelUri", "models/tiny"),
  ]);
  return { randomness, validatorRegistry, chatRegistry };
}

export default buildModule("ChatOracle", (m) => {
  const stakeToken = m.getParameter<string>("stakeToken");
  return buildChatOracle(m, stakeToken);
});
