import { expect } from "chai";
import { clientKey, createTokenBucketLimiter } from "../../../oracle/src/http/rateLimit";

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

describe("token budget and client keys", () => {
  it("charges the tokens a call asks for, so one big call uses what many small ones would", () => {
    let now = 0;
    const limiter = createTokenBucketLimiter({ perMinute: 600, now: () => now });
    expect(limiter.take("a", 512)).to.equal(0);
    // 88 tokens left; 256 more are 168 short, back at 10 tokens a second.
    expect(limiter.take("a", 256)).to.equal(17);
    expect(limiter.take("a", 88)).to.equal(0);
    now += 60_000;
    expect(limiter.take("a", 10_000), "more than a full bucket counts as a full bucket").to.equal(0);
  });

  it("keys IPv6 clients by their /64 and IPv4(-mapped) clients by address", () => {
    expect(clientKey("2001:db8:1:2:aaaa::1")).to.equal("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:2:ffff:ffff:ffff:fffe")).to.equal("2001:db8:1:2::/64");
    expect(clientKey("2001:0db8:0001:0003::1")).to.equal("2001:db8:1:3::/64");
    expect(clientKey("2001:db8::1")).to.equal("2001:db8::/64");
    expect(clientKey("::1")).to.equal("::/64");
    expect(clientKey("::ffff:192.0.2.7")).to.equal("192.0.2.7");
    expect(clientKey("192.0.2.7")).to.equal("192.0.2.7");
  });

  it("gives a client rotating addresses inside one /64 one bucket", () => {
    const limiter = createTokenBucketLimiter({ perMinute: 2, now: () => 0 });
    const taken = [1, 2, 3].map((i) => limiter.take(clientKey(`2001:db8:0:7::${i.toString(16)}`)));
    expect(taken, "the third address of the same /64 is refused").to.deep.equal([0, 0, 30]);
  });
});
