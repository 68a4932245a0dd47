"""P1 (Dong et al. 2023, "How abilities in LLMs are affected by SFT data composition"): one module per research
question, each owning its arms, table, figure and checks, over the shared kit.report helpers."""
