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
 * buffer, and while the peer is not holding bytes of its own (fact 6: they
 * would queue behind ours, uncharged). Otherwise the verdict passes the
 * bytes to the source socket itself, where they are charged to its receive
 * buffer and TCP closes the sender's window; user space moves them to the peer with
 * ordinary backpressure. It keeps passing until user space has written every
 * passed byte, so the stream stays in order.
 *
 * Before any of that, the verdict cuts from an skb the bytes it has already
 * seen. TCP queues a retransmitted segment that overlaps bytes it received
 * before (seq < rcv_nxt < end_seq) whole, trusting every reader to skip what
 * copied_seq says was read; tcp_read_skb() hands the skb over as it is, so
 * without the cut those bytes would be forwarded twice (docs/flow-control.md,
 * fact 10).
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
	__u32 copied_seq;
	__u64 bytes_acked;
	__u32 snd_una;
	__u32 snd_nxt;
	__u32 write_seq;
	__u32 notsent_lowat;
} __attribute__((preserve_access_index));

/* TCP's control block leads skb->cb: the skb's first and end sequence numbers. */
struct sk_buff {
	char cb[48];
} __attribute__((preserve_access_index));

struct tcp_skb_seq {
	__u32 seq;
	__u32 end_seq;		/* one past the last byte, FIN included */
};

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* sk_skb's bpf_skb_adjust_room() removes at most this many bytes per call. */
#define MAX_CUT_STEP 4095
#define MAX_CUT_STEPS 64
#define NEXT_SEQ_KNOWN (1ULL << 32)

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
	__u64 next_seq;			/* low 32 bits: the next byte's sequence number, once NEXT_SEQ_KNOWN */
	__u64 seen_bytes_cut;		/* bytes cut because an earlier skb carried them */
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
 * queue may only hold what the peer's send queue has room for right now:
 * a redirected skb that has to wait for room blocks the peer's psock queue,
 * and the peer's own held bytes, which the kernel queues behind it when that
 * queue is not empty, would wait there uncharged, with the peer's receive
 * window wide open (docs/flow-control.md, fact 6). The room is what the send
 * buffer has free and, once user space set TCP_NOTSENT_LOWAT on the peer,
 * what that leaves of it: TCP then takes bytes only while fewer than that
 * wait unsent, which keeps a stalled peer's send queue short.
 */
static bool too_much_in_flight(struct conn *c, __u64 drained_bytes, __u32 len)
{
	struct bpf_sock *peer;
	struct tcp_sock *tp;
	__u64 sent, enqueued, in_flight, room;
	__u32 lowat, unsent;
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
	lowat = tp->notsent_lowat;
	unsent = tp->write_seq - tp->snd_nxt;
	bpf_sk_release(peer);

	room = free > 0 ? (__u64)free : 0;
	if (lowat) {
		__u64 unsent_room = lowat > unsent ? lowat - unsent : 0;

		if (room > unsent_room)
			room = unsent_room;
	}
	if (room > c->max_in_flight)
		room = c->max_in_flight;
	sent = c->peer_send_base + c->redirected_bytes + drained_bytes;
	in_flight = sent > enqueued ? sent - enqueued : 0;
	return in_flight + len > room;
}

/*
 * Whether the peer is holding its own bytes: an skb redirected to it now
 * could wait in its psock queue, and its passed skbs would queue behind,
 * uncharged (fact 6).
 */
static bool peer_holds(struct conn *c, __u64 cookie)
{
	struct conn *p;
	struct drained *d;

	if (c->peer_cookie == cookie)
		return false;
	p = bpf_map_lookup_elem(&conns, &c->peer_cookie);
	if (!p || !p->held)
		return false;
	d = bpf_map_lookup_elem(&drained, &c->peer_cookie);
	return p->passed_bytes != (d ? d->bytes : 0);
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

/* The sequence number of the first byte no skb has carried yet: on the first call, TCP's copied_seq. */
static bool next_seq(struct conn *c, __u64 cookie, __u32 *next)
{
	struct bpf_sock *self;
	struct tcp_sock *tp;

	if (c->next_seq & NEXT_SEQ_KNOWN) {
		*next = (__u32)c->next_seq;
		return true;
	}
	/* No skb has been eaten yet, so copied_seq is exactly what user space read before the handoff. */
	self = bpf_map_lookup_elem(&sock_sources, &cookie);
	if (!self)
		return false;
	tp = bpf_skc_to_tcp_sock(self);
	if (tp)
		*next = tp->copied_seq;
	bpf_sk_release(self);
	return tp != NULL;
}

/*
 * Cuts from the head of the skb the bytes an earlier skb already carried and
 * advances next_seq past it. Returns false if the cut failed; the bytes then
 * go on uncut, and user space, which counts more bytes than TCP received,
 * resets the connection.
 */
static bool cut_seen_bytes(struct __sk_buff *skb, struct conn *c, __u64 cookie)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	struct tcp_skb_seq *cb = (void *)kskb->cb;
	__u32 seq = cb->seq, end_seq = cb->end_seq, next;
	__s32 seen, left;
	int i;

	if (!next_seq(c, cookie, &next))
		return false;
	if ((__s32)(end_seq - next) > 0)
		c->next_seq = NEXT_SEQ_KNOWN | end_seq;
	seen = (__s32)(next - seq);
	if (seen <= 0)
		return true;
	if ((__u32)seen > skb->len)
		seen = skb->len;
	left = seen;
	for (i = 0; i < MAX_CUT_STEPS && left > 0; i++) {
		__s32 step = left < MAX_CUT_STEP ? left : MAX_CUT_STEP;

		if (bpf_skb_adjust_room(skb, -step, 0, 0))
			break;
		left -= step;
	}
	__sync_fetch_and_add(&c->seen_bytes_cut, seen - left);
	return left == 0;
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

	cut_seen_bytes(skb, c, cookie);
	if (skb->len == 0)
		return SK_DROP;	/* every byte was seen before: nothing to eat, nothing to forward */

	if (c->max_in_flight) {
		d = bpf_map_lookup_elem(&drained, &cookie);
		drained_bytes = d ? d->bytes : 0;
		if (c->held && c->passed_bytes != drained_bytes)
			return hold(skb, c, cookie, drained_bytes);	/* keep order behind what user space holds */
		if (too_much_in_flight(c, drained_bytes, skb->len))
			return hold(skb, c, cookie, drained_bytes);
		if (peer_holds(c, cookie))
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
