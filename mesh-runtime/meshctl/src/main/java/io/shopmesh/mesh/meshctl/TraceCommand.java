package io.shopmesh.mesh.meshctl;

import io.shopmesh.mesh.meshctl.local.MeshState;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code meshctl trace [-X METHOD] [-H HEADER]... [-d DATA] URL}: sends one request with a fresh
 * x-request-id, then prints its path through every proxy as {@code explain} does.
 */
@Command(
    name = "trace",
    mixinStandardHelpOptions = true,
    description = {
      "Sends one HTTP request (curl-like: -X, -H, -d) with a fresh x-request-id, by default to the",
      "running mesh's gateway, then prints its path across every proxy (see explain).",
      "The URL is dialled as given; its host is the Host unless -H 'Host: ...' says otherwise."
    })
public final class TraceCommand implements Callable<Integer> {

  @Option(names = "-X", paramLabel = "METHOD", defaultValue = "GET")
  String method;

  @Option(names = "-H", paramLabel = "HEADER", description = "'Name: value', repeatable.")
  List<String> headers = new ArrayList<>();

  @Option(names = "-d", paramLabel = "DATA", description = "Request body (method POST if not -X).")
  String data;

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "URL",
      description = "Default: the gateway's address and /.")
  String url;

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FORMAT",
      description = "json: the records of every pod as they are.")
  String output;

  @Mixin MeshOptions mesh;

  @Override
  public Integer call() throws Exception {
    MeshState st = mesh.requireRunning();
    URI u = URI.create(url != null ? url : st.gatewayUrl() + "/");
    if (!"http".equals(u.getScheme())) {
      throw new MeshctlException("trace sends plain HTTP only: " + u, 2);
    }
    String id = UUID.randomUUID().toString();
    int status = send(u, id);
    System.err.println("HTTP " + status + ", x-request-id: " + id);
    // the proxies publish a record when its stream ends, after the response is written
    Thread.sleep(300);
    return ExplainCommand.print(st, id, output);
  }

  /** One HTTP/1.1 request on its own connection; the response status. */
  int send(URI u, String id) throws IOException {
    String m = data != null && "GET".equals(method) ? "POST" : method.toUpperCase(Locale.ROOT);
    int port = u.getPort() > 0 ? u.getPort() : 80;
    String host = u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "");
    StringBuilder head = new StringBuilder();
    String path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
    if (u.getRawQuery() != null) {
      path += "?" + u.getRawQuery();
    }
    head.append(m).append(' ').append(path).append(" HTTP/1.1\r\n");
    boolean hostSet = false;
    for (String h : headers) {
      if (h.toLowerCase(Locale.ROOT).startsWith("host:")) {
        hostSet = true;
      }
      head.append(h).append("\r\n");
    }
    if (!hostSet) {
      head.append("Host: ").append(host).append("\r\n");
    }
    byte[] body = data == null ? new byte[0] : data.getBytes(StandardCharsets.UTF_8);
    head.append("x-request-id: ").append(id).append("\r\n");
    head.append("Content-Length: ").append(body.length).append("\r\n");
    head.append("Connection: close\r\n\r\n");
    try (Socket s = new Socket(u.getHost(), port)) {
      s.setSoTimeout(30_000);
      OutputStream out = s.getOutputStream();
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      in.transferTo(all);
      String resp = all.toString(StandardCharsets.ISO_8859_1);
      String[] statusLine = resp.split("\r\n", 2)[0].split(" ");
      if (statusLine.length < 2) {
        throw new MeshctlException("no HTTP response from " + u, 1);
      }
      return Integer.parseInt(statusLine[1]);
    }
  }
}
