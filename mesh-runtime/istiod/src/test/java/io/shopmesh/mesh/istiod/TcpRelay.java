package io.shopmesh.mesh.istiod;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback TCP relay in front of a server, so a test can drop every connection through it (a
 * dropped watch, as when an API server restarts or a load balancer cuts idle streams) and refuse
 * new ones for a while.
 */
final class TcpRelay implements AutoCloseable {

  private final ServerSocket server;
  private final int target;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile boolean refusing;
  private volatile boolean closed;

  TcpRelay(int target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::accept, "tcp-relay");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /**
   * Closes every connection now; with {@code refuse}, new ones are closed at once until {@link
   * #accept(boolean)}.
   */
  void dropAll(boolean refuse) {
    refusing = refuse;
    for (Socket s : open) {
      close(s);
    }
    open.clear();
  }

  void accept(boolean accept) {
    refusing = !accept;
  }

  private void accept() {
    while (!closed) {
      Socket down;
      try {
        down = server.accept();
      } catch (IOException e) {
        return;
      }
      if (refusing) {
        close(down);
        continue;
      }
      try {
        Socket up = new Socket(InetAddress.getLoopbackAddress(), target);
        open.add(down);
        open.add(up);
        pump(down, up);
        pump(up, down);
      } catch (IOException e) {
        close(down);
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[16384];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                  out.write(buf, 0, n);
                  out.flush();
                }
              } catch (IOException e) {
                // dropped
              } finally {
                close(from);
                close(to);
                open.remove(from);
                open.remove(to);
              }
            },
            "tcp-relay-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void close(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    closed = true;
    dropAll(true);
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
