package io.shopmesh.mesh.istiod.ca;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.shopmesh.mesh.istiod.WorkloadRegistry;
import io.shopmesh.mesh.wire.IstioCertificates;
import io.shopmesh.mesh.wire.NodeId;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * Istio's {@code istio.v1.auth.IstioCertificateService/CreateCertificate} on istiod's xDS gRPC
 * server: a proxy sends a CSR, the CA signs it for the identity the registry gives the calling pod
 * ({@code spiffe://cluster.local/ns/NS/sa/SA}, the pod's service account), never one the CSR names.
 * The caller is the pod its {@code istio-node-id} header names, and only if the caller's token was
 * issued to that pod (the caller check: istiod's token interceptor on the same server).
 */
public final class CertificateService {

  private static final Logger LOG = Logger.getLogger(CertificateService.class.getName());

  public static final Metadata.Key<String> NODE_ID =
      Metadata.Key.of(IstioCertificates.NODE_ID_HEADER, Metadata.ASCII_STRING_MARSHALLER);

  private static final Context.Key<String> CALLER = Context.key(IstioCertificates.NODE_ID_HEADER);

  private static final MethodDescriptor.Marshaller<IstioCertificates.Request> REQUEST =
      new Bytes<>(IstioCertificates.Request::encode, IstioCertificates.Request::decode);

  private static final MethodDescriptor.Marshaller<IstioCertificates.Response> RESPONSE =
      new Bytes<>(IstioCertificates.Response::encode, IstioCertificates.Response::decode);

  /** The method, for the server here and for clients (the proxy builds the same descriptor). */
  public static final MethodDescriptor<IstioCertificates.Request, IstioCertificates.Response>
      CREATE_CERTIFICATE =
          MethodDescriptor.<IstioCertificates.Request, IstioCertificates.Response>newBuilder()
              .setType(MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(
                  MethodDescriptor.generateFullMethodName(
                      IstioCertificates.SERVICE, IstioCertificates.METHOD))
              .setRequestMarshaller(REQUEST)
              .setResponseMarshaller(RESPONSE)
              .build();

  private final IstioCa ca;
  private final WorkloadRegistry registry;
  private final Duration defaultTtl;
  private final Duration maxTtl;
  private final BiFunction<String, String, String> callerCheck;

  /**
   * @param callerCheck given the pod name and namespace the node id names, why the authenticated
   *     caller may not speak for that pod, or null when it may (istiod's XdsAuthenticator)
   */
  public CertificateService(
      IstioCa ca,
      WorkloadRegistry registry,
      Duration defaultTtl,
      Duration maxTtl,
      BiFunction<String, String, String> callerCheck) {
    this.ca = ca;
    this.registry = registry;
    this.defaultTtl = defaultTtl;
    this.maxTtl = maxTtl;
    this.callerCheck = callerCheck;
  }

  /** A service that trusts the node id it is given (tests, a registry without tokens). */
  public CertificateService(
      IstioCa ca, WorkloadRegistry registry, Duration defaultTtl, Duration maxTtl) {
    this(ca, registry, defaultTtl, maxTtl, (pod, namespace) -> null);
  }

  public IstioCa ca() {
    return ca;
  }

  /** The service, with the interceptor that reads the caller's node id. */
  public ServerServiceDefinition definition() {
    ServerServiceDefinition def =
        ServerServiceDefinition.builder(IstioCertificates.SERVICE)
            .addMethod(CREATE_CERTIFICATE, ServerCalls.asyncUnaryCall(this::createCertificate))
            .build();
    ServerInterceptor caller =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            String id = headers.get(NODE_ID);
            return Contexts.interceptCall(
                Context.current().withValue(CALLER, id), call, headers, next);
          }
        };
    return ServerInterceptors.intercept(def, caller);
  }

  private void createCertificate(
      IstioCertificates.Request req, StreamObserver<IstioCertificates.Response> out) {
    try {
      out.onNext(new IstioCertificates.Response(issue(CALLER.get(), req)));
      out.onCompleted();
    } catch (StatusException e) {
      LOG.warning("CSR refused: " + e.getStatus().getDescription());
      out.onError(e);
    }
  }

  /** The signed chain for the pod {@code nodeId} names; the status says why not. */
  List<String> issue(String nodeId, IstioCertificates.Request req) throws StatusException {
    if (nodeId == null || nodeId.isBlank()) {
      throw Status.UNAUTHENTICATED
          .withDescription("no " + IstioCertificates.NODE_ID_HEADER + " header")
          .asException();
    }
    NodeId node = NodeId.parse(nodeId);
    String refused = callerCheck.apply(node.podName(), node.namespace());
    if (refused != null) {
      throw Status.PERMISSION_DENIED.withDescription(refused).asException();
    }
    WorkloadRegistry.Entry pod =
        registry.entries().stream()
            .filter(
                e ->
                    e.workload().podName().equals(node.podName())
                        && e.workload().namespace().equals(node.namespace()))
            .findFirst()
            .orElseThrow(
                () ->
                    Status.PERMISSION_DENIED
                        .withDescription(
                            "pod "
                                + node.podName()
                                + "."
                                + node.namespace()
                                + " is not in the registry ("
                                + registry.source()
                                + ")")
                        .asException());
    Duration ttl =
        req.validitySeconds() > 0 ? Duration.ofSeconds(req.validitySeconds()) : defaultTtl;
    if (ttl.compareTo(maxTtl) > 0) {
      throw Status.INVALID_ARGUMENT
          .withDescription(
              "requested TTL " + ttl + " is greater than the max allowed TTL " + maxTtl)
          .asException();
    }
    String sa = pod.serviceAccount() == null ? "default" : pod.serviceAccount();
    String spiffe = IstioCertificates.spiffeId(node.namespace(), sa);
    try {
      List<String> chain = ca.sign(req.csr(), spiffe, ttl);
      LOG.fine("CA: signed " + spiffe + " for " + node.podName() + ", ttl " + ttl);
      return chain;
    } catch (IllegalArgumentException e) {
      throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException();
    }
  }

  /** A protobuf message encoded by hand: bytes in and out. */
  private record Bytes<T>(Function<T, byte[]> encode, Function<byte[], T> decode)
      implements MethodDescriptor.Marshaller<T> {

    @Override
    public InputStream stream(T value) {
      return new ByteArrayInputStream(encode.apply(value));
    }

    @Override
    public T parse(InputStream stream) {
      try {
        return decode.apply(stream.readAllBytes());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (IllegalArgumentException e) {
        throw Status.INTERNAL
            .withDescription("malformed message: " + e.getMessage())
            .asRuntimeException();
      }
    }
  }
}
