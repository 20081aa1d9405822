import { expect } from "chai";
import { HttpError } from "../../../oracle/src/http/errors";
import { createInferenceAdmission } from "../../../oracle/src/http/inferenceQueue";

describe("HTTP inference admission", () => {
  it("answers 503 busy with Retry-After once max calls are in, and admits again when one leaves", () => {
    const admission = createInferenceAdmission(2, 7);
    const first = admission.enter();
    admission.enter();
    let refused: unknown;
    try {
      admission.enter();
    } catch (error) {
      refused = error;
    }
    expect(refused).to.be.instanceOf(HttpError);
    expect(refused).to.include({ status: 503, code: "busy" });
    expect((refused as HttpError).headers).to.deep.equal({ "Retry-After": "7" });
    first();
    first(); // leaving twice frees one slot only
    expect(admission.size).to.equal(1);
    expect(() => admission.enter()).not.to.throw();
    expect(() => admission.enter()).to.throw(HttpError);
  });
});
