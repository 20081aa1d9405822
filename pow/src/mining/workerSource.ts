/**
 * The code each mining thread runs, as plain CommonJS source. Workers are started with `eval: true` so they run the
 * same way under tsx, ts-node (Hardhat's mocha) and compiled JavaScript, without a TypeScript loader in the thread.
 * It receives the compiled kernel (a WebAssembly.Module is cloneable) and each job's kernel inputs (midstate and the
 * other per-template words, see kernelInputs) from the main thread.
 *
 * Messages in:  {type:"job", jobId, inputs, header, targetHex, firstChunk, stride, chunkSize, endNonce}
 *               {type:"exit"}
 * Messages out: {type:"progress", jobId, hashes} every chunk, {type:"found", jobId, nonce, hashes} (hashes of the last, partial chunk),
 *               {type:"done", jobId, hashes: 0} when the range is exhausted or the job was cancelled.
 * Cancellation: the main thread bumps control[0] (a shared Int32Array); a worker whose jobId differs stops.
 */
export const MINING_WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const L = workerData.layout;
const control = new Int32Array(workerData.control);
const instance = new WebAssembly.Instance(workerData.kernel, {});
const scan = instance.exports.scan;
const memory = new Int32Array(instance.exports.memory.buffer);

function meetsTarget(header, nonce, target) {
  const copy = Buffer.from(header);
  copy.writeUInt32LE(nonce >>> 0, 76);
  const digest = createHash("sha256").update(createHash("sha256").update(copy).digest()).digest();
  return BigInt("0x" + Buffer.from(digest).reverse().toString("hex")) <= target;
}

function runJob(job) {
  memory.set(job.inputs, 0);
  const target = BigInt("0x" + job.targetHex);
  for (let chunk = job.firstChunk; ; chunk += job.stride) {
    if (Atomics.load(control, 0) !== job.jobId) break;
    const start = chunk * job.chunkSize;
    if (start >= job.endNonce) break;
    const count = Math.min(job.chunkSize, job.endNonce - start);
    let done = 0;
    while (done < count) {
      const found = scan((start + done) | 0, count - done);
      for (let i = 0; i < found; i++) {
        const nonce = memory[L.candidates / 4 + i] >>> 0;
        if (meetsTarget(job.header, nonce, target)) {
          parentPort.postMessage({ type: "found", jobId: job.jobId, nonce, hashes: nonce - start + 1 });
          return;
        }
      }
      done += memory[L.scanned / 4];
    }
    parentPort.postMessage({ type: "progress", jobId: job.jobId, hashes: count });
  }
  parentPort.postMessage({ type: "done", jobId: job.jobId, hashes: 0 });
}

parentPort.on("message", (message) => {
  if (message.type === "job") runJob(message);
  else if (message.type === "exit") process.exit(0);
});
`;
