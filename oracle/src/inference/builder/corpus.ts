/**
 * Training text for the built-in tokenizer's BPE merges.
 *
 * Why a fixed corpus in the source: the project downloads nothing, and the same text must give the same merges
 * (and so the same model hash) on every machine. Topics follow the seed document: chat models, transformers,
 * blockchains, proof of work and proof of stake. A few non-English lines make multi-byte UTF-8 merges appear.
 */
export const TOKENIZER_CORPUS = `
The intersection of chat models and blockchain technology.
As artificial intelligence develops, chat robots based on natural language processing have become one of the
most impressive applications. At the same time blockchain technology keeps growing and gives the base for digital
currencies and decentralized applications. In this text we look at how the two technologies work together, and
how each one can make the other better.
A chat model is a large language model. It uses deep learning and natural language processing to understand and
to generate human language. It can be used for customer service, for translation, for summaries of long text, and
for many other tasks. The model reads a prompt, splits it into tokens, and then predicts the next token again and
again until it reaches the end of the answer or the maximum number of new tokens.
The transformer is the network inside the model. Each token id is turned into a vector by the token embedding,
and its place in the sequence is turned into a vector by the position embedding. The two vectors are added. Then
the blocks of the transformer run one after the other: layer normalization, causal self attention with many heads,
a residual connection, another layer normalization, a small multi layer perceptron, and another residual
connection. At the end a final layer normalization and the output layer give one score for every token in the
vocabulary. The output layer shares its weights with the token embedding.
Attention lets every token look at the tokens before it. The keys and the values of earlier tokens do not change,
so the model keeps them in a cache and only computes the new token at each step. This is the key value cache, and
it makes generation much faster. Several prompts of different lengths can run together in one batch when the
shorter ones are padded on the left and the attention mask hides the padding.
A blockchain is a distributed ledger made of blocks linked together. Each block holds a set of transactions and a
reference to the block before it, so the blocks form an ordered chain. The main properties of a blockchain are
security, transparency and decentralization. Nobody can change an old block without changing every block after
it.
Proof of work asks miners to solve a hard puzzle: find a nonce so that the hash of the block is below a target.
The difficulty is two to the power of k. Proof of stake asks validators to lock tokens as stake, and the chance of
being chosen is the stake of the holder divided by the total stake. Both methods stop double spending and make
attacks expensive.
An oracle brings data from outside into a smart contract. A chat oracle answers a prompt written on chain: a
committee of staked validators runs the same model with the same settings, commits to the hash of the response,
reveals it, and the contract records the answer that the majority agrees on. Greedy decoding gives the same tokens
on every honest validator, so the hashes match. A validator that reveals a wrong answer loses part of its stake.
The record keeps the model hash, the prompt, the response hash and the block number.
Questions and answers. How is a chat model trained? Training needs a lot of data and a lot of computing power,
usually on graphics processors. Can a blockchain store a whole model? Usually it stores only the hash of the model
and of the answers, because storage on chain is expensive. Is the answer always the same? With greedy decoding and
the same model files, yes. With sampling, the seed must be part of the request.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 12 16 32 64 100 128 256 512 1024 2048 4096 2026.
Code: function generate(prompt) { return model.run(tokenizer.encode(prompt)); } const hash = keccak256(text);
区块链技术是一种去中心化的分布式数据存储系统。聊天机器人可以理解和生成人类语言。
Les chaînes de blocs sont sûres et transparentes. Die Kette der Blöcke ist öffentlich. Привет, мир.
`;
