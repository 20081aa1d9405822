import { expect } from "chai";
import { createTokenBucketLimiter } from "../../../oracle/src/http/rateLimit";

describe("token bucket rate limiter", () => {
  it("allows a burst of the bucket size, then asks the client to wait", () => {
    let now = 0;
    const limiter = createTokenBucketLimiter({ perMinute: 3, now: () => now });
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a")]).to.deep.equal([0, 0, 0]);
    // 3 per minute refills one token every 20 s.
    expect(limiter.take("a")).to.equal(20);
    now = 10_000;
    expect(limiter.take("a")).to.equal(10);
  });

  it("refills continuously with time", () => {
    let now = 0;
    const limiter = createTokenBucketLimiter({ perMinute: 60, now: () => now });
    for (let i = 0; i < 60; i++) expect(limiter.take("a")).to.equal(0);
    expect(limiter.take("a")).to.be.greaterThan(0);
    now += 1_000; // one token per second
    expect(limiter.take("a")).to.equal(0);
    expect(limiter.take("a")).to.be.greaterThan(0);
    now += 3_600_000; // never more than a full bucket
    for (let i = 0; i < 60; i++) expect(limiter.take("a")).to.equal(0);
    expect(limiter.take("a")).to.be.greaterThan(0);
  });

  it("keeps one bucket per client", () => {
    const limiter = createTokenBucketLimiter({ perMinute: 1, now: () => 0 });
    expect(limiter.take("a")).to.equal(0);
    expect(limiter.take("a")).to.be.greaterThan(0);
    expect(limiter.take("b")).to.equal(0);
  });

  it("bounds memory by dropping buckets once there are too many clients", () => {
    let now = 0;
    const limiter = createTokenBucketLimiter({ perMinute: 60, now: () => now, maxClients: 100 });
    for (let i = 0; i < 1000; i++) {
      limiter.take(`client-${i}`);
      now += 10;
    }
    expect(limiter.size).to.be.at.most(100);
  });
});
