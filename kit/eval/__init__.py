"""Evaluation: the llama.cpp engine, one module per task (each with a VERSION), the code sandbox."""
