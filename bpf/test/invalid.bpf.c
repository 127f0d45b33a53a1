// SPDX-License-Identifier: GPL-2.0
/*
 * Deliberately rejected by the verifier (map value used without a NULL
 * check), so tests can prove that the verifier log reaches the exception.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, __u64);
} values SEC(".maps");

SEC("sk_skb")
int unchecked_lookup(struct __sk_buff *skb)
{
	__u64 key = 0;
	__u64 *value = bpf_map_lookup_elem(&values, &key);

	return *value ? SK_PASS : SK_DROP;
}

char LICENSE[] SEC("license") = "GPL";
