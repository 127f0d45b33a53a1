// SPDX-License-Identifier: GPL-2.0
/*
 * Ferry's data plane: once user space has routed a connection, every later
 * byte a socket receives is redirected to the egress of its peer socket.
 *
 * A socket is inserted into sock_targets before sock_sources, so whenever the
 * verdict runs for a socket, its peer is already a valid redirect target.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Per-socket state, keyed by the socket's cookie. An echo socket is its own peer. */
struct conn {
	__u64 peer_cookie;
	__u64 redirected_bytes;		/* received here, redirected to the peer's egress */
	__u64 redirected_skbs;
	__u64 redirect_failures;
};

/* max_entries is a placeholder: user space sets the real size before load. */

/* Redirect targets only: no program is attached to this map. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, __u64);
} sock_targets SEC(".maps");

/* ferry_verdict is attached to this map (BPF_SK_SKB_VERDICT). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, __u64);
} sock_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct conn);
} conns SEC(".maps");

/*
 * SEC("sk_skb") rather than "sk_skb/verdict": libbpf 1.1 (Debian 12) knows
 * only the exact name "sk_skb" for this program type. The attach type is
 * chosen by user space at bpf_prog_attach() time.
 */
SEC("sk_skb")
int ferry_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct conn *c;
	long ret;

	c = bpf_map_lookup_elem(&conns, &cookie);
	if (!c)
		return SK_PASS;	/* not ours: TCP's own flow control applies */

	/*
	 * A pure FIN arrives as an empty skb. Redirected, it reaches the
	 * peer's backlog, whose send loop takes a zero-length send for a
	 * broken pipe: EPIPE lands on the peer and its transmit stops.
	 * TCP has already recorded the FIN; user space carries the EOF.
	 */
	if (skb->len == 0)
		return SK_DROP;

	ret = bpf_sk_redirect_hash(skb, &sock_targets, &c->peer_cookie, 0);
	if (ret == SK_PASS) {
		__sync_fetch_and_add(&c->redirected_bytes, skb->len);
		__sync_fetch_and_add(&c->redirected_skbs, 1);
	} else {
		__sync_fetch_and_add(&c->redirect_failures, 1);
	}
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
