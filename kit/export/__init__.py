"""LoRA merge, HF -> GGUF with llama.cpp's own converter, quantization, and the parity check."""
