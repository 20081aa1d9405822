/**
 * Entry of the inference worker thread (started by WorkerDecoder): opens the onnxruntime session and runs
 * `DecoderModel.generateBatch` for the main thread.
 *
 * Why a thread of its own: onnxruntime-node copies every output into a new ArrayBuffer, so each decode step
 * hands V8 the whole KV cache again (≈ 18 MB at batch 8 on gpt2-small). That external memory triggers a full
 * mark-compact every few steps, whose cost grows with the isolate's heap. Here the heap is a few MB; on the main
 * thread (tokenizer, HTTP server, chain client) it is tens of MB and each collection stalls the decode loop.
 */
import { parentPort, workerData } from "node:worker_threads";
import { DecoderModel } from "./decoderModel";
import { openSession } from "./providers";
import { serializeError, type WorkerInit, type WorkerReply, type WorkerRequest } from "./workerDecoder";

async function main(port: NonNullable<typeof parentPort>, init: WorkerInit): Promise<void> {
  const reply = (message: WorkerReply): void => port.postMessage(message);
  let model: DecoderModel;
  try {
    const opened = await openSession(init.folder.graphPath, init.providers, init.settings);
    try {
      model = DecoderModel.fromSession(opened.session, init.folder, init.tokenizerVocabSize, opened.kvLocation);
    } catch (err) {
      await opened.session.release();
      throw err;
    }
    reply({
      type: "ready",
      provider: opened.provider,
      failures: opened.failures,
      shape: model.shape,
    });
  } catch (err) {
    reply({ type: "failed", error: serializeError(err) });
    return;
  }

  port.on("message", async (message: WorkerRequest) => {
    if (message.type === "close") {
      await model.release();
      port.close(); // the thread ends; the main side waits for its exit
      return;
    }
    const { id, requests, useCache, collectLogits, reportSteps } = message;
    if (init.stallOnPromptId !== undefined && requests.some((r) => r.promptIds[0] === init.stallOnPromptId)) return; // test hook
    try {
      const onStep = reportSteps ? (endedAt: number, tokens: (number | undefined)[]) => reply({ type: "step", id, endedAt, tokens }) : undefined;
      const results = await model.generateBatch(requests, { useCache, collectLogits, onStep });
      reply({ type: "done", id, results });
    } catch (err) {
      reply({ type: "error", id, error: serializeError(err) });
    }
  });
}

if (parentPort) void main(parentPort, workerData as WorkerInit);
