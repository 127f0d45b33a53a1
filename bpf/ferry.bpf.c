// SPDX-License-Identifier: GPL-2.0
/*
 * Ferry's data plane: once user space has routed a connection, every later
 * byte a socket receives is redirected to the egress of its peer socket.
 *
 * A socket is inserted into sock_targets before sock_sources, so whenever the
 * verdict runs for a socket, its peer is already a valid redirect target.
 *
 * Flow control (docs/flow-control.md): the kernel queues redirected data
 * without limit, so the verdict redirects only while the bytes in flight
 * towards the peer (sent its way, not yet in its send queue, which TCP
 * bounds itself) fit the connection's limit and the room in the peer's send
 * buffer. Otherwise the verdict passes the bytes to the
 * source socket itself, where they are charged to its receive buffer and TCP
 * closes the sender's window; user space moves them to the peer with
 * ordinary backpressure. It keeps passing until user space has written every
 * passed byte, so the stream stays in order.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <stdbool.h>

/* Only the fields Ferry reads; CO-RE finds their offsets in the running kernel. */
struct sock {
	int sk_sndbuf;
	int sk_wmem_queued;
} __attribute__((preserve_access_index));

struct inet_sock {
	struct sock sk;
} __attribute__((preserve_access_index));

struct inet_connection_sock {
	struct inet_sock icsk_inet;
} __attribute__((preserve_access_index));

struct tcp_sock {
	struct inet_connection_sock inet_conn;
	__u64 bytes_acked;
	__u32 snd_una;
	__u32 write_seq;
} __attribute__((preserve_access_index));

/* Per-socket state, keyed by the socket's cookie. An echo socket is its own peer. */
struct conn {
	__u64 peer_cookie;
	__u64 max_in_flight;		/* 0: no limit */
	__u64 peer_send_base;		/* bytes_acked + SIOCOUTQ of the peer at insertion */
	__u64 redirected_bytes;		/* received here, redirected to the peer's egress */
	__u64 redirected_skbs;
	__u64 redirect_failures;
	__u64 passed_bytes;		/* received here, held for user space to forward */
	__u64 held;			/* 1 while passing: set and cleared by the verdict only */
};

/* Written by user space only: bytes it forwarded from this socket to the peer. */
struct drained {
	__u64 bytes;
};

struct hold_event {
	__u64 cookie;
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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct drained);
} drained SEC(".maps");

/* One event each time a socket starts holding: user space then drains it. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} hold_events SEC(".maps");

/*
 * Whether redirecting len more bytes would queue too much towards the peer.
 *
 * In flight are the bytes sent towards the peer that have not entered its
 * send queue yet: they wait in the peer's psock queue, which nothing bounds.
 * What entered the send queue is bytes_acked plus the unacknowledged rest
 * (write_seq - snd_una), the sum user space takes from TCP_INFO and SIOCOUTQ
 * for peer_send_base.
 *
 * Two limits. The connection's max_in_flight bounds that queue. And the
 * queue may only hold what the peer's send buffer has room for right now:
 * a redirected skb that has to wait for room blocks the peer's psock queue,
 * and the peer's own held bytes, which the kernel queues behind it when that
 * queue is not empty, would wait there uncharged, with the peer's receive
 * window wide open (docs/flow-control.md, fact 6).
 */
static bool too_much_in_flight(struct conn *c, __u64 drained_bytes, __u32 len)
{
	struct bpf_sock *peer;
	struct tcp_sock *tp;
	__u64 sent, enqueued, in_flight, room;
	__s64 free;

	peer = bpf_map_lookup_elem(&sock_targets, &c->peer_cookie);
	if (!peer)
		return false;	/* the redirect will fail and be counted */
	tp = bpf_skc_to_tcp_sock(peer);
	if (!tp) {
		bpf_sk_release(peer);
		return false;
	}
	enqueued = tp->bytes_acked + (__u32)(tp->write_seq - tp->snd_una);
	free = (__s64)tp->inet_conn.icsk_inet.sk.sk_sndbuf -
	       (__s64)tp->inet_conn.icsk_inet.sk.sk_wmem_queued;
	bpf_sk_release(peer);

	room = free > 0 ? (__u64)free : 0;
	if (room > c->max_in_flight)
		room = c->max_in_flight;
	sent = c->peer_send_base + c->redirected_bytes + drained_bytes;
	in_flight = sent > enqueued ? sent - enqueued : 0;
	return in_flight + len > room;
}

/*
 * Passes the skb to the source socket. A hold is announced when it starts,
 * and again when user space had caught up with the previous one (it stops
 * watching then), so that every held byte has someone to move it.
 */
static int hold(struct __sk_buff *skb, struct conn *c, __u64 cookie, __u64 drained_bytes)
{
	struct hold_event *event;
	bool announce = !c->held || c->passed_bytes == drained_bytes;

	__sync_fetch_and_add(&c->passed_bytes, skb->len);
	c->held = 1;
	if (!announce)
		return SK_PASS;
	event = bpf_ringbuf_reserve(&hold_events, sizeof(*event), 0);
	if (!event)
		return SK_PASS;	/* user space also finds held sockets when a peer ends */
	event->cookie = cookie;
	bpf_ringbuf_submit(event, 0);
	return SK_PASS;
}

/*
 * SEC("sk_skb") rather than "sk_skb/verdict": libbpf 1.1 (Debian 12) knows
 * only the exact name "sk_skb" for this program type. The attach type is
 * chosen by user space at bpf_prog_attach() time.
 */
SEC("sk_skb")
int ferry_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct drained *d;
	__u64 drained_bytes;
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

	if (c->max_in_flight) {
		d = bpf_map_lookup_elem(&drained, &cookie);
		drained_bytes = d ? d->bytes : 0;
		if (c->held && c->passed_bytes != drained_bytes)
			return hold(skb, c, cookie, drained_bytes);	/* keep order behind what user space holds */
		if (too_much_in_flight(c, drained_bytes, skb->len))
			return hold(skb, c, cookie, drained_bytes);
		c->held = 0;
	}

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
