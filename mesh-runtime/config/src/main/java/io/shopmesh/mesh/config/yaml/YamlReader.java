package io.shopmesh.mesh.config.yaml;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Splits a multi-document YAML file into documents and parses each one on its own, so one broken
 * document does not hide the others, and remembers the line of every field.
 */
public final class YamlReader {

  private static final YAMLFactory FACTORY = new YAMLFactory();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final Pattern SEPARATOR = Pattern.compile("---\\s*(#.*)?");

  /** A document, or the reason it could not be read. */
  public record Result(YamlDocument document, YamlParseException error, int line) {}

  private YamlReader() {}

  /** Every non-empty document of the text; comment-only documents are skipped. */
  public static List<Result> read(Path file, String text) {
    List<Result> out = new ArrayList<>();
    String[] lines = text.split("\r?\n", -1);
    int start = 0;
    for (int i = 0; i <= lines.length; i++) {
      boolean end = i == lines.length;
      if (end || SEPARATOR.matcher(lines[i]).matches()) {
        if (i > start || end) {
          Result r = parseChunk(file, lines, start, i);
          if (r != null) {
            out.add(r);
          }
        }
        start = i + 1;
      }
    }
    return out;
  }

  private static Result parseChunk(Path file, String[] lines, int from, int to) {
    StringBuilder sb = new StringBuilder();
    boolean content = false;
    int firstNonBlank = -1;
    for (int i = from; i < to; i++) {
      String t = lines[i].trim();
      if (!t.isEmpty() && !t.startsWith("#") && !t.equals("...")) {
        content = true;
      }
      if (!t.isEmpty() && firstNonBlank < 0) {
        firstNonBlank = i + 1;
      }
      sb.append(lines[i]).append('\n');
    }
    if (!content) {
      return null;
    }
    int offset = from; // chunk line 1 is file line from + 1
    try (JsonParser p = FACTORY.createParser(sb.toString())) {
      Map<String, Integer> fieldLines = new HashMap<>();
      JsonToken t = p.nextToken();
      if (t == null) {
        return null;
      }
      // a document starts at its first non-blank line after the separator (a leading comment
      // belongs to it), the numbering istiod uses to find a document again in its file
      int first = firstNonBlank;
      JsonNode tree = new Builder(sb.toString(), offset, fieldLines).value(p, "");
      if (p.nextToken() != null) {
        throw new YamlParseException(
            p.currentTokenLocation().getLineNr() + offset, "unexpected content after the document");
      }
      return new Result(new YamlDocument(file, first, tree, fieldLines), null, first);
    } catch (YamlParseException e) {
      return new Result(null, e, e.line());
    } catch (JsonProcessingException e) {
      YamlParseException ype = describe(e, offset);
      return new Result(null, ype, ype.line());
    } catch (IOException e) {
      return new Result(null, new YamlParseException(from + 1, e.getMessage()), from + 1);
    }
  }

  /** Builds the tree of one document and records the line of every field. */
  private static final class Builder {
    private final String text;
    private final int offset;
    private final Map<String, Integer> lines;

    Builder(String text, int offset, Map<String, Integer> lines) {
      this.text = text;
      this.offset = offset;
      this.lines = lines;
    }

    JsonNode value(JsonParser p, String path) throws IOException, YamlParseException {
      JsonToken t = p.currentToken();
      switch (t) {
        case START_OBJECT:
          {
            ObjectNode obj = NODES.objectNode();
            Map<String, Integer> seen = new HashMap<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String name = p.currentName();
              int line = p.currentTokenLocation().getLineNr() + offset;
              Integer before = seen.put(name, line);
              if (before != null) {
                throw new YamlParseException(
                    line, "mapping key \"" + name + "\" already defined at line " + before);
              }
              String child = path.isEmpty() ? name : path + "." + name;
              lines.put(child, line);
              p.nextToken();
              obj.set(name, value(p, child));
            }
            return obj;
          }
        case START_ARRAY:
          {
            ArrayNode arr = NODES.arrayNode();
            boolean flow = charAt(p.currentTokenLocation().getCharOffset()) == '[';
            int i = 0;
            while (p.nextToken() != JsonToken.END_ARRAY) {
              String child = path + "[" + i + "]";
              lines.putIfAbsent(child, p.currentTokenLocation().getLineNr() + offset);
              arr.add(flowScalar(p, value(p, child), flow));
              i++;
            }
            return arr;
          }
        case VALUE_STRING:
          return NODES.textNode(p.getText());
        case VALUE_NUMBER_INT:
          // the narrowest node that holds the value: fabric8's IntOrString (Service targetPort)
          // only accepts an int node
          switch (p.getNumberType()) {
            case INT:
              return NODES.numberNode(p.getIntValue());
            case LONG:
              return NODES.numberNode(p.getLongValue());
            default:
              return NODES.numberNode(p.getBigIntegerValue());
          }
        case VALUE_NUMBER_FLOAT:
          return NODES.numberNode(p.getDecimalValue());
        case VALUE_TRUE:
          return NODES.booleanNode(true);
        case VALUE_FALSE:
          return NODES.booleanNode(false);
        case VALUE_NULL:
          return NODES.nullNode();
        default:
          return NODES.textNode(p.getText());
      }
    }

    private char charAt(long index) {
      return index >= 0 && index < text.length() ? text.charAt((int) index) : 0;
    }

    /**
     * In a flow sequence snakeyaml (YAML 1.1) reads {@code [001:db8::]} as a one-pair mapping
     * {@code {"001:db8:": null}}; Go's YAML (which Kubernetes uses) reads the IPv6 string. Undo it.
     */
    private JsonNode flowScalar(JsonParser p, JsonNode v, boolean flow) {
      if (flow && v instanceof ObjectNode o && o.size() == 1) {
        Map.Entry<String, JsonNode> e = o.fields().next();
        if (e.getValue().isNull() && e.getKey().contains(":")) {
          return NODES.textNode(e.getKey() + ":");
        }
      }
      return v;
    }
  }

  /** One line for a YAML syntax error: snakeyaml's problem text and the line it is at. */
  private static YamlParseException describe(JsonProcessingException e, int offset) {
    Throwable c = e;
    while (c != null && !(c instanceof MarkedYAMLException)) {
      c = c.getCause();
    }
    if (c instanceof MarkedYAMLException m && m.getProblemMark() != null) {
      String text = m.getProblem();
      if (m.getContext() != null) {
        text = text + " (" + m.getContext() + ")";
      }
      return new YamlParseException(m.getProblemMark().getLine() + 1 + offset, oneLine(text));
    }
    int line = e.getLocation() == null ? 1 : e.getLocation().getLineNr();
    return new YamlParseException(line + offset, oneLine(e.getOriginalMessage()));
  }

  private static String oneLine(String s) {
    return s == null ? "invalid YAML" : s.replaceAll("\\s*\\n\\s*", " ").trim();
  }
}
