//! DeepLearningExamples FastPitch frontend (`english_basic` symbols, `english_cleaners_v2`).
