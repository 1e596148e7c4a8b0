package io.shopmesh.mesh.istiod.ca;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.logging.Logger;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * istiod's certificate authority (Istio's Citadel): signs workload certificates whose only identity
 * is the SPIFFE id it is given. Its signing certificate is either a plugged-in one (Istio's {@code
 * cacerts}: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem) or a self-signed root created
 * at first start and kept in the same files, so that a restarted istiod keeps the mesh's trust.
 */
public final class IstioCa {

  private static final Logger LOG = Logger.getLogger(IstioCa.class.getName());

  /** Istio's DEFAULT_WORKLOAD_CERT_TTL. */
  public static final Duration DEFAULT_WORKLOAD_TTL = Duration.ofHours(24);

  /** Istio's MAX_WORKLOAD_CERT_TTL: a longer request is cut to this. */
  public static final Duration MAX_WORKLOAD_TTL = Duration.ofDays(90);

  /** Istio's self-signed root lives ten years. */
  private static final Duration ROOT_TTL = Duration.ofDays(3650);

  private final X509Certificate signingCert;
  private final PrivateKey signingKey;
  private final X509Certificate root;
  private final List<X509Certificate> chain;
  private final String source;

  private IstioCa(
      X509Certificate signingCert,
      PrivateKey signingKey,
      X509Certificate root,
      List<X509Certificate> chain,
      String source) {
    this.signingCert = signingCert;
    this.signingKey = signingKey;
    this.root = root;
    this.chain = List.copyOf(chain);
    this.source = source;
  }

  /** A new self-signed root held in memory only. */
  public static IstioCa selfSigned() {
    KeyPair keys = rsa();
    X509Certificate root = selfSignedRoot(keys);
    return new IstioCa(root, keys.getPrivate(), root, List.of(), "self-signed root (in memory)");
  }

  /**
   * The CA of a {@code cacerts}-style directory: its files when ca-cert.pem and ca-key.pem are
   * there (root-cert.pem defaults to ca-cert.pem, cert-chain.pem to ca-cert.pem when that is not
   * the root), else a new self-signed root written there.
   */
  public static IstioCa loadOrCreate(Path dir) {
    Path cert = dir.resolve("ca-cert.pem");
    Path key = dir.resolve("ca-key.pem");
    try {
      if (Files.isRegularFile(cert) && Files.isRegularFile(key)) {
        X509Certificate signing = Pem.certificates(Files.readString(cert)).get(0);
        PrivateKey signingKey = Pem.privateKey(Files.readString(key));
        Path rootFile = dir.resolve("root-cert.pem");
        X509Certificate root =
            Files.isRegularFile(rootFile)
                ? Pem.certificates(Files.readString(rootFile)).get(0)
                : signing;
        Path chainFile = dir.resolve("cert-chain.pem");
        List<X509Certificate> chain =
            Files.isRegularFile(chainFile)
                ? Pem.certificates(Files.readString(chainFile))
                : signing.equals(root) ? List.of() : List.of(signing);
        // the root goes last in every answer on its own
        List<X509Certificate> withoutRoot = new ArrayList<>(chain);
        withoutRoot.remove(root);
        return new IstioCa(signing, signingKey, root, withoutRoot, "cacerts " + dir);
      }
      KeyPair keys = rsa();
      X509Certificate root = selfSignedRoot(keys);
      Files.createDirectories(dir);
      Files.writeString(cert, Pem.certificate(root));
      Files.writeString(dir.resolve("root-cert.pem"), Pem.certificate(root));
      Files.writeString(dir.resolve("cert-chain.pem"), "");
      Files.writeString(key, Pem.privateKey(keys.getPrivate()));
      try {
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system: the directory's own permissions protect it
      }
      LOG.info("CA: created a self-signed root in " + dir);
      return new IstioCa(root, keys.getPrivate(), root, List.of(), "self-signed root in " + dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or create the CA in " + dir, e);
    }
  }

  public X509Certificate root() {
    return root;
  }

  public String rootPem() {
    return Pem.certificate(root);
  }

  /** Where the signing certificate comes from (for logs and debug output). */
  public String source() {
    return source;
  }

  /**
   * Signs a CSR (PEM, PKCS#10) for {@code spiffeId}, valid for {@code ttl} (never beyond the
   * signing certificate). Only the CSR's public key is used: subject and SANs come from the caller.
   *
   * @return the chain as Istio's CreateCertificate answers it: the workload certificate, any
   *     intermediates, the root last
   */
  public List<String> sign(String csrPem, String spiffeId, Duration ttl) {
    PKCS10CertificationRequest csr = parseCsr(csrPem);
    try {
      JcaPKCS10CertificationRequest jcsr = new JcaPKCS10CertificationRequest(csr);
      if (!csr.isSignatureValid(
          new JcaContentVerifierProviderBuilder().build(jcsr.getPublicKey()))) {
        throw new IllegalArgumentException("the CSR's signature does not verify");
      }
      Instant now = Instant.now();
      Instant notAfter = now.plus(ttl);
      Instant caEnd = signingCert.getNotAfter().toInstant();
      if (notAfter.isAfter(caEnd)) {
        notAfter = caEnd;
      }
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              signingCert,
              serial(),
              Date.from(now.minus(Duration.ofMinutes(1))),
              Date.from(notAfter),
              new X500Name(""),
              jcsr.getPublicKey());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      b.addExtension(
          Extension.extendedKeyUsage,
          false,
          new ExtendedKeyUsage(
              new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      b.addExtension(
          Extension.authorityKeyIdentifier,
          false,
          ext.createAuthorityKeyIdentifier(signingCert.getPublicKey()));
      // an empty subject makes the SAN critical (RFC 5280 4.2.1.6), as in Istio's certificates
      b.addExtension(
          Extension.subjectAlternativeName,
          true,
          new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, spiffeId)));
      X509Certificate leaf = sign(b, signingKey);
      List<String> out = new ArrayList<>();
      out.add(Pem.certificate(leaf));
      chain.forEach(c -> out.add(Pem.certificate(c)));
      out.add(Pem.certificate(root));
      return out;
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot sign the CSR: " + e.getMessage(), e);
    }
  }

  /** A CA certificate for another signer under this root (Istio's plugged-in intermediates). */
  public X509Certificate signIntermediate(PublicKey key, String subject) {
    try {
      Instant now = Instant.now();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              signingCert,
              serial(),
              Date.from(now.minus(Duration.ofMinutes(1))),
              signingCert.getNotAfter(),
              new X500Name(subject),
              key);
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      return sign(b, signingKey);
    } catch (Exception e) {
      throw new IllegalStateException("cannot sign the intermediate: " + e, e);
    }
  }

  private static PKCS10CertificationRequest parseCsr(String pem) {
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      Object o = p.readObject();
      if (o instanceof PKCS10CertificationRequest csr) {
        return csr;
      }
      throw new IllegalArgumentException("no CERTIFICATE REQUEST in the csr field");
    } catch (IOException e) {
      throw new IllegalArgumentException("the csr field is not PEM: " + e.getMessage(), e);
    }
  }

  private static KeyPair rsa() {
    try {
      KeyPairGenerator kpg = KeyPairGenerator.getInstance("RSA");
      kpg.initialize(2048);
      return kpg.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509Certificate selfSignedRoot(KeyPair keys) {
    try {
      Instant now = Instant.now();
      X500Name name = new X500Name("O=cluster.local");
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              name,
              serial(),
              Date.from(now.minus(Duration.ofMinutes(5))),
              Date.from(now.plus(ROOT_TTL)),
              name,
              keys.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      b.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(
          Extension.subjectKeyIdentifier,
          false,
          new JcaX509ExtensionUtils().createSubjectKeyIdentifier(keys.getPublic()));
      return sign(b, keys.getPrivate());
    } catch (Exception e) {
      throw new IllegalStateException("cannot create the CA root: " + e, e);
    }
  }

  private static BigInteger serial() {
    return Certificates.serial();
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws Exception {
    return Certificates.sign(b, key);
  }
}
