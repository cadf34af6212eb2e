"""Safe intake: untrusted bytes in, a decoded Photo or a coded refusal out."""
