package dev.ferry.bpf;

/** The sockmap attach points of enum bpf_attach_type (include/uapi/linux/bpf.h). */
public enum AttachType {
    SK_SKB_STREAM_PARSER(4),
    SK_SKB_STREAM_VERDICT(5),
    /** Verdict without a stream parser: the program sees each skb as it arrives. */
    SK_SKB_VERDICT(38);

    private final int value;

    AttachType(int value) {
        this.value = value;
    }

    /** The kernel's number for this attach type. */
    public int value() {
        return value;
    }
}
