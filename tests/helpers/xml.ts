/**
 * A strict, small XML 1.0 parser for checking reports (no XML parser is installed): refuses anything that is not
 * well-formed (unbalanced or crossed tags, unquoted or repeated attributes, unknown entities, a raw `<` or `&` in
 * text, content after the root) and returns the element tree.
 */

/** One element: name, attributes, children, and its text (entities decoded). */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;

function decode(raw: string, at: number): string {
  if (/<|&(?!(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.test(raw)) throw new Error(`XML: raw < or bad entity near offset ${at}: ${raw.slice(0, 80)}`);
  return raw.replace(/&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g, (_all, e: string) =>
    e === "amp" ? "&" : e === "lt" ? "<" : e === "gt" ? ">" : e === "quot" ? '"' : e === "apos" ? "'"
    : String.fromCodePoint(e.startsWith("#x") ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)));
}

/** Parses a whole document; throws on the first thing that is not well-formed XML. */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const skipSpace = () => {
    while (i < xml.length && /\s/.test(xml[i])) i++;
  };
  if (xml.startsWith("<?xml")) {
    const end = xml.indexOf("?>");
    if (end < 0 || !/^<\?xml version="1\.[0-9]"( encoding="[A-Za-z0-9._-]+")?( standalone="(yes|no)")?\s*\?>$/.test(xml.slice(0, end + 2))) throw new Error("XML: bad declaration");
    i = end + 2;
  }
  skipSpace();
  const root = element();
  skipSpace();
  if (i !== xml.length) throw new Error(`XML: content after the root element at ${i}`);
  return root;

  function element(): XmlElement {
    if (xml[i] !== "<") throw new Error(`XML: expected an element at ${i}`);
    i++;
    const name = NAME.exec(xml.slice(i))?.[0];
    if (!name) throw new Error(`XML: bad element name at ${i}`);
    i += name.length;
    const el: XmlElement = { name, attributes: {}, children: [], text: "" };
    for (;;) {
      const before = i;
      skipSpace();
      if (xml.startsWith("/>", i)) {
        i += 2;
        return el;
      }
      if (xml[i] === ">") {
        i++;
        break;
      }
      if (i === before) throw new Error(`XML: expected white space before an attribute at ${i}`);
      const attr = NAME.exec(xml.slice(i))?.[0];
      if (!attr) throw new Error(`XML: bad attribute name at ${i}`);
      i += attr.length;
      if (xml[i] !== "=" || (xml[i + 1] !== '"' && xml[i + 1] !== "'")) throw new Error(`XML: attribute ${attr} not ="..." at ${i}`);
      const quote = xml[i + 1];
      const end = xml.indexOf(quote, i + 2);
      if (end < 0) throw new Error(`XML: unterminated attribute ${attr}`);
      if (Object.hasOwn(el.attributes, attr)) throw new Error(`XML: attribute ${attr} repeated on <${name}>`);
      el.attributes[attr] = decode(xml.slice(i + 2, end), i);
      i = end + 1;
    }
    for (;;) {
      const next = xml.indexOf("<", i);
      if (next < 0) throw new Error(`XML: <${name}> is never closed`);
      el.text += decode(xml.slice(i, next), i);
      i = next;
      if (xml.startsWith("</", i)) {
        const close = `</${name}>`;
        if (!xml.startsWith(close, i)) throw new Error(`XML: expected ${close} at ${i}, got ${xml.slice(i, i + 30)}`);
        i += close.length;
        return el;
      }
      if (xml.startsWith("<!--", i)) {
        const end = xml.indexOf("-->", i);
        if (end < 0) throw new Error("XML: unterminated comment");
        i = end + 3;
        continue;
      }
      el.children.push(element());
    }
  }
}
