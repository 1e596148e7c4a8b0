package io.shopmesh.payment;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Makes the payment provider's own small PKI: a CA (ca.crt, ca.key) and a server certificate signed
 * by it (tls.crt, tls.key), all PEM. Clients, such as a sidecar originating TLS, trust ca.crt.
 * Existing files are kept; the server certificate is re-issued (by the same CA) only when it lacks
 * a required subject alternative name, so a client's trust in ca.crt survives restarts.
 */
public final class CertificateGenerator {

  public static final String HOST_NAME = "api.payment-provider.com";
  static final String CA_CRT = "ca.crt";
  static final String CA_KEY = "ca.key";
  static final String TLS_CRT = "tls.crt";
  static final String TLS_KEY = "tls.key";

  private static final SecureRandom RANDOM = new SecureRandom();

  private CertificateGenerator() {}

  /** The names the server certificate must carry: the API host, localhost and local IPs. */
  public static Set<String> defaultSubjectAltNames(Collection<String> extra) {
    Set<String> sans = new LinkedHashSet<>();
    sans.add(HOST_NAME);
    sans.add("localhost");
    sans.add("127.0.0.1");
    try {
      sans.add(InetAddress.getLocalHost().getHostAddress());
    } catch (IOException e) {
      // no resolvable host name: the interface addresses below still count
    }
    try {
      for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        for (InetAddress addr : Collections.list(nif.getInetAddresses())) {
          if (addr instanceof Inet4Address) {
            sans.add(addr.getHostAddress());
          }
        }
      }
    } catch (IOException e) {
      // keep what we have
    }
    for (String s : extra) {
      if (s != null && !s.isBlank() && !s.isBlank() && !"0.0.0.0".equals(s.trim())) {
        sans.add(s.trim());
      }
    }
    return sans;
  }

  /** Ensures dir holds ca.crt, ca.key, tls.crt, tls.key whose server cert covers {@code sans}. */
  public static void ensure(Path dir, Set<String> sans)
      throws IOException, GeneralSecurityException {
    Files.createDirectories(dir);
    Path caCrt = dir.resolve(CA_CRT);
    Path caKey = dir.resolve(CA_KEY);
    X509Certificate ca;
    PrivateKey caPrivate;
    if (Files.exists(caCrt) && Files.exists(caKey)) {
      ca = readCert(caCrt);
      caPrivate = readKey(caKey);
    } else {
      KeyPair kp = newKeyPair();
      ca = issueCa(kp);
      caPrivate = kp.getPrivate();
      writePem(caKey, "PRIVATE KEY", caPrivate.getEncoded());
      writePem(caCrt, "CERTIFICATE", ca.getEncoded());
    }
    Path tlsCrt = dir.resolve(TLS_CRT);
    Path tlsKey = dir.resolve(TLS_KEY);
    if (Files.exists(tlsCrt) && Files.exists(tlsKey) && covers(readCert(tlsCrt), sans, ca)) {
      return;
    }
    KeyPair server = newKeyPair();
    X509Certificate cert = issueServer(server, ca, caPrivate, sans);
    writePem(tlsKey, "PRIVATE KEY", server.getPrivate().getEncoded());
    writePem(tlsCrt, "CERTIFICATE", cert.getEncoded());
  }

  private static boolean covers(X509Certificate cert, Set<String> sans, X509Certificate ca) {
    try {
      cert.verify(ca.getPublicKey());
      cert.checkValidity();
      Set<String> have = new LinkedHashSet<>();
      Collection<List<?>> alt = cert.getSubjectAlternativeNames();
      if (alt != null) {
        for (List<?> entry : alt) {
          have.add(String.valueOf(entry.get(1)));
        }
      }
      return have.containsAll(sans);
    } catch (Exception e) {
      return false;
    }
  }

  private static KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator kpg = KeyPairGenerator.getInstance("RSA");
    kpg.initialize(2048, RANDOM);
    return kpg.generateKeyPair();
  }

  private static X509Certificate issueCa(KeyPair kp) throws GeneralSecurityException, IOException {
    X500Name name = new X500Name("CN=Payment Provider Test CA,O=shop mesh");
    Instant now = Instant.now();
    X509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            name,
            serial(),
            Date.from(now.minus(Duration.ofHours(1))),
            Date.from(now.plus(Duration.ofDays(3650))),
            name,
            kp.getPublic());
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    b.addExtension(
        Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
    return sign(b, kp.getPrivate());
  }

  private static X509Certificate issueServer(
      KeyPair kp, X509Certificate ca, PrivateKey caKey, Set<String> sans)
      throws GeneralSecurityException, IOException {
    Instant now = Instant.now();
    X509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            ca,
            serial(),
            Date.from(now.minus(Duration.ofHours(1))),
            Date.from(now.plus(Duration.ofDays(825))),
            new X500Name("CN=" + HOST_NAME + ",O=shop mesh"),
            kp.getPublic());
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(
        Extension.keyUsage,
        true,
        new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
    b.addExtension(
        Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
    b.addExtension(
        Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
    b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca));
    List<GeneralName> names = new ArrayList<>();
    for (String san : sans) {
      boolean ip = san.matches("[0-9.]+") || san.contains(":");
      names.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, san));
    }
    b.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(names.toArray(GeneralName[]::new)));
    return sign(b, caKey);
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(64, RANDOM).abs().add(BigInteger.ONE);
  }

  static X509Certificate readCert(Path file) throws IOException, GeneralSecurityException {
    try (InputStream in = Files.newInputStream(file)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  private static PrivateKey readKey(Path file) throws IOException, GeneralSecurityException {
    String pem = Files.readString(file, StandardCharsets.US_ASCII);
    String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return KeyFactory.getInstance("RSA")
        .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
  }

  private static void writePem(Path file, String type, byte[] der) throws IOException {
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    String pem = "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, pem, StandardCharsets.US_ASCII);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
