"""Code models behind one protocol: transformers + peft on a laptop, vLLM (in-process or a server) on GPU runners."""
