import { expect } from "chai";
import type { Request, Response } from "express";
import { createHostCheck, hostName } from "../../../oracle/src/http/hostCheck";

/** Runs the check on one Host header: undefined when allowed, else the error's code. */
function verdict(check: ReturnType<typeof createHostCheck>, host: string | undefined): string | undefined {
  let result: string | undefined = "not called";
  check({ headers: { host } } as Request, {} as Response, (error?: unknown) => {
    result = error ? (error as { code: string }).code : undefined;
  });
  return result;
}

describe("http/hostCheck", function () {
  it("reads the host name of a Host header, IPv6 included", function () {
    expect(["Example.COM:8080", "example.com", "[::1]:80", "[fd00::5]", "127.0.0.1:1"].map(hostName)).to.deep.equal([
      "example.com",
      "example.com",
      "::1",
      "fd00::5",
      "127.0.0.1",
    ]);
  });

  it("allows a node's own IPv6 listening address and the public URL's host, nothing else", function () {
    const check = createHostCheck({ httpHost: "fd00::5", publicUrl: "https://oracle.example.org/api", allowedHosts: [] });
    expect(verdict(check, "[fd00::5]:8080")).to.equal(undefined);
    expect(verdict(check, "oracle.example.org")).to.equal(undefined);
    expect(verdict(check, "fd00:")).to.equal("host_not_allowed");
    expect(verdict(check, undefined)).to.equal("host_not_allowed");
  });

  it("answers any Host on a wildcard address without --allowed-hosts, and checks it with them", function () {
    expect(verdict(createHostCheck({ httpHost: "0.0.0.0", allowedHosts: [] }), "anything.example")).to.equal(undefined);
    const listed = createHostCheck({ httpHost: "0.0.0.0", allowedHosts: ["node.example"] });
    expect(verdict(listed, "node.example:80")).to.equal(undefined);
    expect(verdict(listed, "anything.example")).to.equal("host_not_allowed");
  });
});
