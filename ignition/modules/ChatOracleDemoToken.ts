/**
 * chat-oracle's contracts with the mintable DemoToken as the stake token: for local chains and testnets where
 * validators should get stake by minting (the token has no value). See ChatOracle.ts for the parameters.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { buildChatOracle } from "./ChatOracle";

export default buildModule("ChatOracleDemoToken", (m) => {
  const demoToken = m.contract("DemoToken");
  return { demoToken, ...buildChatOracle(m, demoToken) };
});
