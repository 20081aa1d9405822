// Test harnesses (contracts/test/) are not part of the product; coverage reports the shipped contracts only.
module.exports = {
  skipFiles: ["test/"],
};
