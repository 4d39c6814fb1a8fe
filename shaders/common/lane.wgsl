// An invocation's place in its workgroup, taken by entry points as one parameter; with SUBGROUP
// also its subgroup and the workgroup's subgroup count (reductions keep one partial per subgroup).
struct Lane {
    @builtin(local_invocation_index) index: u32,
#if SUBGROUP
    @builtin(subgroup_id) sg: u32,
    @builtin(num_subgroups) n_sg: u32,
    @builtin(subgroup_invocation_id) sg_lane: u32,
#endif
}
