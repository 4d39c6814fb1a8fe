// One layer's attention geometry (`AttentionShape::params` on the host), shared by the
// attention, attention_combine and kv_store kernels.
struct Params {
    nh: u32,    // query heads
    nkv: u32,   // key/value heads
    d: u32,     // head_dim
    width: u32, // qkv row width: (nh + 2 nkv) * d
    cap: u32,   // KV cache slots (a ring for chunked layers)
    chunk: u32, // chunk size, 0 for global layers
    scale: f32, // head_dim^-0.5
    splits: u32, // SPLIT attention: key-range splits per (query, head) (1 otherwise)
    // attention_window.wgsl and kv_store's PACK: the window's kv head and index, keys per
    // window, and the floats between two kv heads' rows in the packed copy
    kv_head: u32,
    window: u32,
    window_keys: u32,
    pack_stride: u32,
}
