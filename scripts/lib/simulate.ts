/**
 * A dApp developer's local loop: request → committee → callback on Hardhat's in-process network, in one call and
 * without starting any node. The real contracts run (the committee is drawn by the registry from the seed block);
 * the drawn members are Hardhat accounts this module staked, and they answer the way honest nodes do (respond for a
 * committee of one; commit, then reveal, otherwise). Use it from a dApp's own Hardhat tests:
 *
 *   const sim = await setupSimulation(hre);
 *   const consumer = await ethers.deployContract("ExampleChatConsumer", [sim.deployment.addresses.ChatRecordRegistry]);
 *   const result = await simulateChat(hre, sim, consumer, "What is an oracle?", { response: "An oracle is…" });
 *   expect(await consumer.answers(result.requestId)).to.equal(result.responseHash);
 */
import { type BaseContract, Contract, type Signer, hexlify, randomBytes } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { computeCommitment } from "../../oracle/src/chain/chatRegistry";
import type { InferenceEngine } from "../../oracle/src/inference";
import type { DeploymentFile } from "../../oracle/src/chain/deployments";
import { type ChatConfig, type DeployOptions, deployAll } from "./deploy";

export interface Simulation {
  deployment: DeploymentFile;
  /** The staked validators: the only accounts the registry can draw, so every committee is answerable here. */
  validators: Signer[];
}

export interface SetupSimulationOptions {
  /** Committee size and quorum of the simulated network (default 3 of 3 drawn, quorum 2; 1 for respond()). */
  config?: Partial<ChatConfig>;
  /** Validators to stake from the last Hardhat accounts (default: the committee size). */
  validatorCount?: number;
  /** Registered model hash (default: a fixed placeholder; give the engine's to answer with a real model). */
  modelHash?: string;
  modelLimits?: DeployOptions["modelLimits"];
}

/** Deploys the contracts on the current (in-process) network and stakes validators the simulation signs for. */
export async function setupSimulation(hre: HardhatRuntimeEnvironment, options: SetupSimulationOptions = {}): Promise<Simulation> {
  const deployment = await deployAll(hre, {
    write: false,
    redeploy: true,
    modelHash: options.modelHash ?? "0x" + "5e".repeat(32),
    modelLimits: options.modelLimits ?? { maxPromptBytes: 4096, maxNewTokens: 512, contextLength: 1024 },
    config: options.config,
  });
  const count = options.validatorCount ?? options.config?.committeeSize ?? 3;
  const signers = await hre.ethers.getSigners();
  if (count < 1 || count > signers.length - 2) throw new Error(`validatorCount must be 1..${signers.length - 2}, got ${count}`);
  const validators = signers.slice(signers.length - count);
  const registry = await hre.ethers.getContractAt("ValidatorRegistry", deployment.addresses.ValidatorRegistry);
  const token = await hre.ethers.getContractAt("DemoToken", deployment.addresses.StakeToken);
  const stake = await registry.minimumStake();
  for (const validator of validators) {
    await (await token.mint(validator.address, stake)).wait();
    await (await token.connect(validator).approve(deployment.addresses.ValidatorRegistry, stake)).wait();
    await (await registry.connect(validator).stake(stake, "http://simulated.invalid")).wait();
  }
  return { deployment, validators };
}

export interface SimulateChatOptions {
  /** What the committee answers: a text, or the engine's greedy answer (default: a fixed text naming the prompt). */
  response?: string | InferenceEngine;
  modelId?: number;
  maxNewTokens?: number;
  /** Gas price (wei) the callback's finalizer may be reimbursed at; escrowed with the fee (default 1 gwei). */
  maxCallbackGasPrice?: bigint;
  /** Sends the request instead of the default (the consumer's `ask`, else `requestChat` naming it as callback). */
  send?: () => Promise<{ wait(): Promise<unknown> }>;
}

export interface SimulatedChat {
  requestId: bigint;
  committee: string[];
  responseText: string;
  responseHash: string;
  /** Every registry event of the request, in order, by name (ChatRequested, CommitteeDrawn, …, RecordFinalized). */
  events: string[];
}

/** Gas the direct `requestChat` path gives a consumer without `ask` for its callback. */
const DEFAULT_CALLBACK_GAS = 200_000n;

/**
 * Runs one chat request for `consumer` end to end: sends it (via the consumer's `ask(modelId, prompt, maxNewTokens,
 * maxCallbackGasPrice)` when it has one), mines past the seed block, and has the drawn members answer, which
 * finalizes the record and calls the consumer's `onChatFulfilled`.
 */
export async function simulateChat(
  hre: HardhatRuntimeEnvironment,
  sim: Simulation,
  consumer: BaseContract | string,
  prompt: string,
  options: SimulateChatOptions = {},
): Promise<SimulatedChat> {
  const { ethers } = hre;
  const chat = await ethers.getContractAt("ChatRecordRegistry", sim.deployment.addresses.ChatRecordRegistry);
  const consumerAddress = typeof consumer === "string" ? consumer : await consumer.getAddress();
  if (prompt === "") throw new Error("prompt must not be empty");
  const modelId = options.modelId ?? sim.deployment.modelId;
  const maxNewTokens = options.maxNewTokens ?? 32;
  const gasPrice = options.maxCallbackGasPrice ?? 10n ** 9n;
  const { minimumFee } = await chat.getConfig();
  const before = await chat.requestCount();

  if (options.send) await (await options.send()).wait();
  else {
    const asker = new Contract(consumerAddress, ["function ask(uint16,string,uint32,uint64) payable returns (uint256)", "function CALLBACK_GAS_LIMIT() view returns (uint32)"], (await ethers.getSigners())[0]);
    let callbackGas: bigint | undefined;
    try {
      callbackGas = BigInt(await asker.CALLBACK_GAS_LIMIT());
    } catch {
      callbackGas = undefined; // no ask(): request directly, naming the consumer
    }
    if (callbackGas !== undefined) {
      await (await asker.ask(modelId, prompt, maxNewTokens, gasPrice, { value: minimumFee + callbackGas * gasPrice })).wait();
    } else {
      const value = minimumFee + DEFAULT_CALLBACK_GAS * gasPrice;
      await (await chat.requestChat(modelId, ethers.toUtf8Bytes(prompt), maxNewTokens, consumerAddress, DEFAULT_CALLBACK_GAS, gasPrice, { value })).wait();
    }
  }
  const requestId = await chat.requestCount();
  if (requestId !== before + 1n) throw new Error(`expected one new request, the registry has ${requestId - before}`);

  // The committee is drawn from the hash of a block after the request: mine it.
  await hre.network.provider.send("hardhat_mine", ["0x2"]);
  const [preview, ready] = await chat.previewCommittee(requestId);
  if (!ready) throw new Error(`request ${requestId}: committee not drawable after mining past its seed block`);
  const committee = [...preview];
  const byAddress = new Map(await Promise.all(sim.validators.map(async (v) => [(await v.getAddress()).toLowerCase(), v] as const)));
  const members = committee.map((address) => {
    const signer = byAddress.get(address.toLowerCase());
    if (!signer) throw new Error(`request ${requestId}: committee member ${address} is not a simulated validator (another account staked?)`);
    return signer;
  });

  const responseText =
    typeof options.response === "string"
      ? options.response
      : options.response
        ? (await options.response.generate({ prompt, maxNewTokens })).text
        : `simulated answer to: ${prompt}`;
  if (members.length === 1) {
    await (await chat.connect(members[0]).respond(requestId, responseText)).wait();
  } else {
    const responseHash = ethers.keccak256(ethers.toUtf8Bytes(responseText));
    const salts = members.map(() => hexlify(randomBytes(32)));
    for (const [i, member] of members.entries()) {
      const commitment = computeCommitment(requestId, await member.getAddress(), responseHash, salts[i]);
      await (await chat.connect(member).commitResponse(requestId, commitment)).wait();
    }
    for (const [i, member] of members.entries()) {
      await (await chat.connect(member).revealResponse(requestId, responseText, salts[i])).wait();
    }
  }

  const logs = await ethers.provider.getLogs({ address: sim.deployment.addresses.ChatRecordRegistry, fromBlock: 0 });
  const events: string[] = [];
  let responseHash: string | undefined;
  for (const log of logs) {
    const parsed = chat.interface.parseLog(log);
    if (!parsed || parsed.args[0] !== requestId) continue;
    events.push(parsed.name);
    if (parsed.name === "RecordFinalized") responseHash = parsed.args.responseHash as string;
  }
  if (!responseHash) throw new Error(`request ${requestId} did not finalize (events: ${events.join(", ")})`);
  return { requestId, committee, responseText, responseHash, events };
}
