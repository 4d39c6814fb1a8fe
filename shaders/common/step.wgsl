// Per-step inputs the host writes before each submit (one uniform shared by a step's kernels).
struct Step {
    past: u32,     // positions already in the KV cache
    n_tokens: u32, // tokens in this step
    counter: u32,  // steps taken so far (the sampler's RNG stream)
    pad: u32,
}
