package io.shopmesh.mesh.istiod;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Only real workloads join the mesh: every call on istiod's gRPC server (xDS, and any service
 * registered beside it) must carry {@code authorization: Bearer <token>}, a token issued to one pod
 * by whoever started it (meshctl up; Istio uses the pod's Kubernetes service-account token). The
 * registry holds the SHA-256 of each pod's token; the proxy's first request must then name that
 * same pod in its node id ({@link #checkNode}). Enforced once the registry carries tokens; a
 * registry without any (the Kubernetes source, tests that start proxies by hand) leaves it open.
 */
public final class XdsAuthenticator implements ServerInterceptor {

  private static final Logger LOG = Logger.getLogger(XdsAuthenticator.class.getName());

  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  /** The pod (name.namespace) the call's token was issued to. */
  static final Context.Key<String> POD = Context.key("xds-authenticated-pod");

  /** At most this many distinct refusals are logged, each once. */
  private static final int LOGGED_MAX = 1000;

  /** sha256(token) hex to pod name.namespace. */
  private volatile Map<String, String> pods = Map.of();

  private final Set<String> logged = ConcurrentHashMap.newKeySet();

  /** istiod's own token, for its warm-up stream to itself. */
  private final String selfToken = newToken();

  private volatile String selfPod;

  /** A random token, as meshctl issues them: 256 bits, URL-safe. */
  public static String newToken() {
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  public static String sha256(String token) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The registry's tokens now: pod name.namespace to the SHA-256 hex of its token. */
  public void replace(Map<String, String> tokenHashByPod) {
    Map<String, String> next = new LinkedHashMap<>();
    tokenHashByPod.forEach((pod, hash) -> next.put(hash.toLowerCase(), pod));
    pods = Map.copyOf(next);
  }

  public boolean enforced() {
    return !pods.isEmpty();
  }

  /** The token istiod's own stream to itself uses, valid for {@code pod} only. */
  String selfToken(String pod) {
    selfPod = pod;
    return selfToken;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (!enforced()) {
      return next.startCall(call, headers);
    }
    String auth = headers.get(AUTHORIZATION);
    String pod = null;
    String why;
    if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      why = "no bearer token: istiod serves only the pods it was told about, each with its token";
    } else {
      String token = auth.substring(7).trim();
      pod = token.equals(selfToken) ? selfPod : pods.get(sha256(token));
      why = pod == null ? "the bearer token was not issued to any pod of the registry" : null;
    }
    if (pod == null) {
      refuse(call, why);
      return new ServerCall.Listener<>() {};
    }
    return Contexts.interceptCall(Context.current().withValue(POD, pod), call, headers, next);
  }

  /**
   * The node id's pod must be the token's; null when it is (or nothing is enforced), else why not.
   */
  public String checkNode(String podName, String namespace) {
    if (!enforced()) {
      return null;
    }
    String pod = POD.get();
    String claimed = podName + "." + namespace;
    if (pod == null || !pod.equals(claimed)) {
      String why = "the node id names pod " + claimed + " but the token is pod " + pod + "'s";
      log(why + " (" + claimed + ")");
      return why;
    }
    return null;
  }

  private void refuse(ServerCall<?, ?> call, String why) {
    SocketAddress peer = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    String host = peer == null ? "?" : peer.toString().replaceAll(":\\d+$", "");
    log(why + " (client " + host + ", " + call.getMethodDescriptor().getFullMethodName() + ")");
    call.close(Status.UNAUTHENTICATED.withDescription(why), new Metadata());
  }

  private void log(String message) {
    if (logged.size() < LOGGED_MAX && logged.add(message)) {
      LOG.warning("xDS client refused: " + message);
    }
  }
}
