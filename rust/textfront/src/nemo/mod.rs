//! NeMo FastPitch G2P and tokenizers (`EnglishPhonemesTokenizer` + `EnglishG2p`, `IPATokenizer` + `IpaG2p`).
