// Hardhat Network as a second EVM node implementation for the smoke suite (tests/hardhat/).
// devtools/devnode.py HardhatNode runs `hardhat node --config <this file>`; nothing is compiled here
// (the platform compiles its own contracts and deploys them over JSON-RPC like on any node).
//
// The default mnemonic's account 0 is anvil's dev account 0 (0xf39F…2266, the key in
// config/settings.py ANVIL_DEV_PRIVATE_KEY), so the platform's dev signer works unchanged.
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: 10,
      },
      mining: { auto: true },
      allowUnlimitedContractSize: false,
      // Keep every block (a reorg is made by evm_snapshot/evm_revert; no block is ever pruned).
      loggingEnabled: false,
    },
  },
  paths: {
    // Nothing is built here, but hardhat wants these paths; keep them inside this ignored folder.
    cache: "./.cache",
    artifacts: "./.artifacts",
    sources: "./contracts",
  },
};
