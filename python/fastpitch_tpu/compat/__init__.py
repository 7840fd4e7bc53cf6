"""Drop-in replacements for the text frontends of NVIDIA's FastPitch code bases.

``fastpitch_tpu.compat.dle``: DeepLearningExamples ``common.text.text_processing``.
``fastpitch_tpu.compat.nemo``: NeMo's FastPitch tokenizers.
"""
