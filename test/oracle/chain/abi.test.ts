import { expect } from "chai";
import { AbiCoder, Interface, type ParamType, Result, getAddress, hexlify } from "ethers";
import { callEncoder, checksumAddress, decodeAbi, encodeParams } from "../../../oracle/src/chain/abi";
import { readArtifact } from "../../../oracle/src/chain/artifacts";
import { Prng } from "../../../oracle/src/prng";

const CONTRACTS = ["ChatRecordRegistry", "ValidatorRegistry", "ChatThreads"] as const;
const coder = AbiCoder.defaultAbiCoder();

function randomBytes(prng: Prng, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => prng.nextInt(256));
}

function randomBigInt(prng: Prng, bits: number): bigint {
  let value = 0n;
  for (let i = 0; i < bits; i += 8) value = (value << 8n) | BigInt(prng.nextInt(256));
  return value & ((1n << BigInt(bits)) - 1n);
}

const TEXTS = ["", "a", "Grüße, 世界 ✓", "x".repeat(33), "🙂".repeat(20)];

/** A random value of `type`, as ethers takes it for encoding. */
function randomValue(prng: Prng, type: ParamType): unknown {
  const base = type.baseType;
  if (base === "address") return getAddress(hexlify(randomBytes(prng, 20)));
  if (base === "bool") return prng.nextInt(2) === 1;
  if (base === "string") return TEXTS[prng.nextInt(TEXTS.length)] + "z".repeat(prng.nextInt(70));
  if (base === "bytes") return hexlify(randomBytes(prng, prng.nextInt(80)));
  if (base.startsWith("uint")) {
    // Edge values as often as random ones: 0, the largest, and small numbers.
    const bits = Number(base.slice(4)) || 256;
    return [0n, (1n << BigInt(bits)) - 1n, randomBigInt(prng, bits), BigInt(prng.nextInt(1000)) & ((1n << BigInt(bits)) - 1n)][prng.nextInt(4)];
  }
  if (base.startsWith("int")) {
    const bits = Number(base.slice(3)) || 256;
    const magnitude = randomBigInt(prng, bits - 1);
    return prng.nextInt(2) === 1 ? -magnitude - 1n : magnitude;
  }
  if (base.startsWith("bytes")) return hexlify(randomBytes(prng, Number(base.slice(5))));
  if (base === "array") {
    const length = type.arrayLength === -1 ? prng.nextInt(5) : (type.arrayLength as number);
    return Array.from({ length }, () => randomValue(prng, type.arrayChildren as ParamType));
  }
  if (base === "tuple") return (type.components as readonly ParamType[]).map((c) => randomValue(prng, c));
  throw new Error(`no generator for ${type.type}`);
}

/** Plain arrays all the way down (ethers `Result`s are arrays with extras). */
function plain(value: unknown): unknown {
  return Array.isArray(value) ? [...value].map(plain) : value;
}

/** Every parameter list of the contracts' ABIs: function outputs and inputs, events' non-indexed inputs. */
function parameterLists(): { what: string; types: readonly ParamType[]; iface: Interface }[] {
  const lists: { what: string; types: readonly ParamType[]; iface: Interface }[] = [];
  for (const name of CONTRACTS) {
    const iface = new Interface(readArtifact(name).abi);
    iface.forEachFunction((f) => {
      lists.push({ what: `${name}.${f.name} outputs`, types: f.outputs, iface });
      lists.push({ what: `${name}.${f.name} inputs`, types: f.inputs, iface });
    });
    iface.forEachEvent((e) => lists.push({ what: `${name}.${e.name}`, types: e.inputs.filter((p) => !p.indexed), iface }));
  }
  return lists;
}

describe("lean ABI codec", function () {
  it("decodes every function's and event's data of the contracts as ethers does (random values, edges included)", function () {
    const prng = new Prng("abi decode");
    let checked = 0;
    for (const { what, types } of parameterLists()) {
      for (let round = 0; round < 12; round++) {
        const values = types.map((t) => randomValue(prng, t));
        const data = coder.encode(types, values);
        expect(plain(decodeAbi(types, data)), what).to.deep.equal(plain(coder.decode(types, data)));
        checked++;
      }
    }
    expect(checked).to.be.greaterThan(500);
  });

  it("gives ethers Results with named access for tuples when asked", function () {
    const iface = new Interface(["function f() view returns ((uint32 maxPromptBytes, uint32 maxNewTokens) limits, address[] who)"]);
    const types = iface.getFunction("f")!.outputs;
    const who = [getAddress("0x" + "ab".repeat(20))];
    const data = coder.encode(types, [[7, 9], who]);
    const [limits, addresses] = decodeAbi(types, data, { results: true }) as [Result, Result];
    expect(limits).to.be.instanceOf(Result);
    expect(limits.maxPromptBytes).to.equal(7n);
    expect(limits.maxNewTokens).to.equal(9n);
    expect([...addresses]).to.deep.equal(who);
    // Without it, plain arrays.
    const [plainLimits] = decodeAbi(types, data) as [unknown[]];
    expect(plainLimits).to.not.be.instanceOf(Result);
    expect(plainLimits).to.deep.equal([7n, 9n]);
  });

  it("throws on data that is too short, offsets past the end and dirty address words", function () {
    const types = new Interface(["function f() view returns (string s, address a)"]).getFunction("f")!.outputs;
    const data = coder.encode(types, ["hello", getAddress("0x" + "11".repeat(20))]);
    expect(() => decodeAbi(types, data.slice(0, data.length - 64))).to.throw(/too short|past the end/);
    const hugeOffset = "0x" + "f".repeat(64) + data.slice(66);
    expect(() => decodeAbi(types, hugeOffset)).to.throw(/past the end/);
    const dirtyAddress = data.slice(0, 66) + "01" + data.slice(68);
    expect(() => decodeAbi(types, dirtyAddress)).to.throw(/non-zero upper bytes/);
    expect(() => coder.decode(types, dirtyAddress)[1]).to.throw(/deferred error/); // ethers refuses it on access
    expect(() => decodeAbi(types, "0x1")).to.throw(/hex/);
  });

  it("encodes the node's calls byte for byte as Interface.encodeFunctionData", function () {
    const iface = new Interface(readArtifact("ChatRecordRegistry").abi);
    const prng = new Prng("abi encode");
    const calls = ["commitResponse", "revealResponse", "respond", "declineRequest", "draw", "timeout", "settle", "withdraw", "anchorBatch"];
    for (const name of calls) {
      const encode = callEncoder(iface, name);
      const inputs = iface.getFunction(name)!.inputs;
      for (let round = 0; round < 20; round++) {
        const values = inputs.map((t) => randomValue(prng, t));
        expect(encode(...values), name).to.equal(iface.encodeFunctionData(name, values));
      }
    }
  });

  it("refuses values that do not fit their type instead of truncating them", function () {
    expect(() => encodeParams(["uint8"], [256n])).to.throw(RangeError, /does not fit uint8/);
    expect(() => encodeParams(["uint256"], [-1n])).to.throw(RangeError);
    expect(() => encodeParams(["address"], ["0x1234"])).to.throw(TypeError, /invalid address/);
    expect(() => encodeParams(["bytes32"], ["0x12"])).to.throw(TypeError, /invalid bytes32/);
    expect(() => encodeParams(["uint256[]"], [[1n]])).to.throw(TypeError, /not supported/);
  });

  it("checksums an address as getAddress does, once per address", function () {
    const lower = "0x" + "c0ffee".padEnd(40, "e");
    expect(checksumAddress(lower)).to.equal(getAddress(lower));
    expect(checksumAddress(lower)).to.equal(checksumAddress(lower));
  });
});
