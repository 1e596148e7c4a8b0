package io.shopmesh.mesh.proxy;

import java.io.ByteArrayOutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A DNS server on a loopback UDP socket: records every query's name, answers A records for the
 * names it is given, NXDOMAIN for the rest (or nothing, when {@code silent}). Lets tests see every
 * query the proxy sends without asking the machine's resolver.
 */
final class FakeDns implements AutoCloseable {
  final List<String> queries = new CopyOnWriteArrayList<>();
  final List<Long> queryNanos = new CopyOnWriteArrayList<>();
  final Map<String, String> answers = new ConcurrentHashMap<>();
  volatile boolean silent;
  private final DatagramSocket socket;
  private final Thread thread;

  FakeDns() throws Exception {
    socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
    thread = new Thread(this::serve, "fake-dns");
    thread.setDaemon(true);
    thread.start();
  }

  String address() {
    return "127.0.0.1:" + socket.getLocalPort();
  }

  private void serve() {
    byte[] buf = new byte[1500];
    while (!socket.isClosed()) {
      try {
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        socket.receive(p);
        int i = 12;
        StringBuilder name = new StringBuilder();
        while (buf[i] != 0) {
          int len = buf[i] & 0xff;
          if (name.length() > 0) {
            name.append('.');
          }
          name.append(new String(buf, i + 1, len, java.nio.charset.StandardCharsets.US_ASCII));
          i += len + 1;
        }
        int questionEnd = i + 5; // root label, qtype, qclass
        String n = name.toString().toLowerCase();
        queries.add(n);
        queryNanos.add(System.nanoTime());
        if (silent) {
          continue;
        }
        String ip = answers.get(n);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(buf[0]);
        out.write(buf[1]);
        out.write(0x81);
        out.write(ip != null ? 0x80 : 0x83); // NOERROR or NXDOMAIN
        out.write(new byte[] {0, 1, 0, ip != null ? (byte) 1 : 0, 0, 0, 0, 0});
        out.write(buf, 12, questionEnd - 12);
        if (ip != null) {
          out.write(new byte[] {(byte) 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4});
          out.write(InetAddress.getByName(ip).getAddress());
        }
        byte[] b = out.toByteArray();
        socket.send(new DatagramPacket(b, b.length, p.getSocketAddress()));
      } catch (SocketException e) {
        return;
      } catch (Exception e) {
        // malformed query: ignore
      }
    }
  }

  @Override
  public void close() {
    socket.close();
  }
}
