package io.shopmesh.mesh.proxy.listener;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.ptr.IntByReference;
import io.netty.channel.unix.UnixChannel;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.impl.ConnectionBase;
import java.util.List;
import java.util.logging.Logger;

/**
 * The original destination of a connection that iptables REDIRECT sent to this proxy, as Envoy's
 * {@code original_dst} listener filter reads it: {@code getsockopt(fd, SOL_IP, SO_ORIGINAL_DST)}.
 *
 * <p>Java has no API for that socket option, so it is called through JNA on the file descriptor of
 * the connection's Netty epoll channel (the proxy runs on Vert.x's native transport in redirect
 * mode). When either is unavailable (no epoll, no JNA), the inbound side falls back to the pod's
 * single declared app port, which is exact whenever the pod declares one port, as every pod of the
 * shop does; with several ports it keeps the listener's port and says so once in the log.
 */
public final class OriginalDst {
  private static final Logger LOG = Logger.getLogger(OriginalDst.class.getName());
  static final int SOL_IP = 0;
  static final int SO_ORIGINAL_DST = 80;

  /** {@code ip:port}, or null when unknown. */
  public record Address(String ip, int port) {}

  interface LibC extends Library {
    int getsockopt(int fd, int level, int optname, byte[] optval, IntByReference optlen);
  }

  private static final LibC LIBC = loadLibC();
  private static volatile boolean warned;
  private static volatile boolean told;

  private static LibC loadLibC() {
    try {
      return Native.load("c", LibC.class);
    } catch (Throwable t) {
      LOG.warning("SO_ORIGINAL_DST unavailable (JNA: " + t + ")");
      return null;
    }
  }

  private OriginalDst() {}

  /** Whether this JVM can read SO_ORIGINAL_DST at all (JNA loaded). */
  public static boolean available() {
    return LIBC != null;
  }

  /** The original destination of the request's connection, or null. */
  public static Address of(HttpServerRequest req) {
    if (LIBC == null) {
      return null;
    }
    try {
      Object conn = req.connection();
      if (!(conn instanceof ConnectionBase cb)) {
        return null;
      }
      if (!(cb.channel() instanceof UnixChannel uc)) {
        return null;
      }
      return read(uc.fd().intValue());
    } catch (Throwable t) {
      return null;
    }
  }

  /** The original destination of a raw connection, as {@code ip:port}, or null. */
  public static String of(NetSocket so) {
    if (LIBC == null) {
      return null;
    }
    try {
      if (!(so instanceof ConnectionBase cb) || !(cb.channel() instanceof UnixChannel uc)) {
        return null;
      }
      Address a = read(uc.fd().intValue());
      return a == null ? null : a.ip() + ":" + a.port();
    } catch (Throwable t) {
      return null;
    }
  }

  /** getsockopt(SO_ORIGINAL_DST) on an IPv4 socket: a struct sockaddr_in. */
  static Address read(int fd) {
    byte[] sa = new byte[16];
    IntByReference len = new IntByReference(sa.length);
    if (LIBC.getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, sa, len) != 0) {
      return null;
    }
    int port = ((sa[2] & 0xff) << 8) | (sa[3] & 0xff);
    String ip = (sa[4] & 0xff) + "." + (sa[5] & 0xff) + "." + (sa[6] & 0xff) + "." + (sa[7] & 0xff);
    return new Address(ip, port);
  }

  /**
   * The destination port an intercepted inbound request was sent to: SO_ORIGINAL_DST, else the
   * pod's only app port, else the listener's own port.
   */
  public static int inboundPort(HttpServerRequest req, List<Integer> podPorts, int listenerPort) {
    Address a = of(req);
    if (a != null && a.port() != listenerPort) {
      if (!told) {
        told = true;
        LOG.info(
            "inbound: original destination from SO_ORIGINAL_DST (first: "
                + a.ip()
                + ":"
                + a.port()
                + ")");
      }
      return a.port();
    }
    if (podPorts.size() == 1) {
      if (!told) {
        told = true;
        LOG.info(
            "inbound: no SO_ORIGINAL_DST ("
                + (available() ? "connection not redirected, or not on epoll" : "no JNA")
                + "), using the pod's only app port "
                + podPorts.get(0));
      }
      return podPorts.get(0);
    }
    if (!warned) {
      warned = true;
      LOG.warning(
          "no SO_ORIGINAL_DST and "
              + podPorts.size()
              + " app ports: inbound requests use port "
              + listenerPort);
    }
    return listenerPort;
  }
}
