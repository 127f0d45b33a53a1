package dev.ferry.dataplane.copy;

import dev.ferry.dataplane.OutputShutdown;
import dev.ferry.dataplane.ResetWatch;
import dev.ferry.handoff.ConnectionEnd;
import dev.ferry.handoff.ProxiedConnection;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** One connection in the copy plane: two relays, one per direction, and the end they share. */
final class CopyPair {
    /** Bytes read from one side and not yet written to the other, over every copied connection. */
    static final String BUFFERED = "ferry_dataplane_buffered_bytes{plane=\"copy\"}";

    private final ProxiedConnection connection;
    private final Relay toBackend;
    private final Relay toClient;
    private boolean ended;

    CopyPair(ProxiedConnection connection, Channel client, Channel backend) {
        this.connection = connection;
        this.toBackend = new Relay(client, backend, ConnectionEnd.CLIENT_RESET);
        this.toClient = new Relay(backend, client, ConnectionEnd.BACKEND_RESET);
        toBackend.bytes = connection.consumedFromClient();
    }

    void start() {
        long idleNanos = connection.idleTimeout().toNanos();
        for (Relay relay : new Relay[] {toBackend, toClient}) {
            relay.source.pipeline().addLast("idle", new IdleStateHandler(0, 0, idleNanos, TimeUnit.NANOSECONDS));
            relay.source.pipeline().addLast("relay", relay);
            if (((DuplexChannel) relay.source).isInputShutdown()) {
                // The FIN arrived while the connection was being routed: nothing more will be read.
                relay.sourceEnded();
            } else {
                relay.source.config().setAutoRead(true);
                relay.source.read();
            }
        }
    }

    private void end(ConnectionEnd how, boolean reset) {
        if (ended) {
            return;
        }
        ended = true;
        for (Relay relay : new Relay[] {toBackend, toClient}) {
            if (relay.resetWatch != null) {
                relay.resetWatch.close();
            }
        }
        for (Channel channel : new Channel[] {toBackend.source, toClient.source}) {
            if (reset && channel.isOpen()) {
                channel.config().setOption(ChannelOption.SO_LINGER, 0);
            }
            channel.close();
        }
        connection.end("copy", how, toBackend.bytes, toClient.bytes);
    }

    /** Copies one direction: reads from {@code source}, writes to {@code target}. */
    private final class Relay extends ChannelInboundHandlerAdapter {
        final Channel source;
        final Channel target;
        final ConnectionEnd resetEnd;
        long bytes;
        /** The source's end of stream arrived. */
        boolean sourceDone;
        /** ... and was forwarded: the target's output is shut down after every byte before it. */
        boolean shut;
        /** From the source's end on: Netty no longer reports a reset of the source. */
        ResetWatch resetWatch;

        Relay(Channel source, Channel target, ConnectionEnd resetEnd) {
            this.source = source;
            this.target = target;
            this.resetEnd = resetEnd;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            int length = ((ByteBuf) msg).readableBytes();
            bytes += length;
            connection.stats().add(BUFFERED, length);
            target.write(msg).addListener(written -> {
                // Written or failed, the bytes left Ferry's memory.
                connection.stats().add(BUFFERED, -length);
                if (!written.isSuccess()) {
                    // What a void promise would have fired at the target's pipeline: the target failed.
                    end(written.cause() instanceof IOException ? fromTarget().resetEnd : ConnectionEnd.FORWARDING_ERROR,
                            true);
                }
            });
            if (!target.isWritable()) {
                source.config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            target.flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // This channel is the target of the opposite relay: resume the side that feeds it.
            Relay feeding = this == toBackend ? toClient : toBackend;
            if (source.isWritable() && !feeding.sourceDone) {
                feeding.source.config().setAutoRead(true);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent) {
                sourceEnded();
            } else if (event instanceof IdleStateEvent) {
                end(ConnectionEnd.IDLE_TIMEOUT, false);
            }
            ctx.fireUserEventTriggered(event);
        }

        /** The FIN follows the last byte: shut the target's output once every write has left. */
        void sourceEnded() {
            sourceDone = true;
            if (resetWatch == null && !ended && !fromTarget().shut) {  // the source is still written to
                resetWatch = ResetWatch.start(source, () -> end(resetEnd, true));
            }
            target.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) written -> {
                if (!written.isSuccess()) {
                    end(fromTarget().resetEnd, true);
                    return;
                }
                try {
                    OutputShutdown.shut(target);
                } catch (IOException e) {
                    end(fromTarget().resetEnd, true);
                    return;
                }
                // Both ends forwarded, not merely received: the other direction may still be writing.
                shut = true;
                if (toBackend.shut && toClient.shut) {
                    end(ConnectionEnd.CLOSED, false);
                }
            });
        }

        /** The relay reading from this one's target. */
        Relay fromTarget() {
            return this == toBackend ? toClient : toBackend;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            end(cause instanceof IOException ? resetEnd : ConnectionEnd.FORWARDING_ERROR, true);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // Closed by the event loop when Ferry stops, else by the peer or an error.
            end(ctx.channel().eventLoop().isShuttingDown() ? ConnectionEnd.SHUTDOWN : resetEnd, true);
        }
    }
}
