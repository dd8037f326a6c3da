"""Text contrast read off a rendered page: WCAG 2's ratio from computed colours.

``low_contrast(page)`` lists every visible piece of text (HTML text, form
controls' own text, SVG chart labels) whose colour against the background
it is painted on is below AA: 4.5:1, or 3:1 for large text (24 px, or
18.66 px bold). The background is found by compositing the element's and
its ancestors' background colours, the page's canvas last, as the browser
paints them; transparency (``rgb(0 0 0 / .4)``, ``opacity``) is blended in.
Disabled controls are left out (WCAG exempts inactive components), as is
text that is not painted (``opacity: 0``, ``visibility: hidden``, clipped).
"""

SCRIPT = r"""
() => {
  const probe = document.createElement("canvas").getContext("2d");
  function rgba(value) {
    // Any CSS colour the browser computed, as [r, g, b, a] in 0..255 / 0..1.
    probe.clearRect(0, 0, 1, 1);
    probe.fillStyle = "#000"; probe.fillStyle = value;
    probe.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = probe.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  }
  function over(top, bottom) {
    const a = top[3] + bottom[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    const mix = (i) => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a;
    return [mix(0), mix(1), mix(2), a];
  }
  function luminance([r, g, b]) {
    const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  }
  function ratio(a, b) {
    const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (light + 0.05) / (dark + 0.05);
  }
  const rootStyle = getComputedStyle(document.documentElement);
  const canvas = rootStyle.colorScheme.includes("dark") && !rootStyle.colorScheme.includes("light")
    ? [18, 18, 18, 1] : [255, 255, 255, 1];
  function background(element) {
    // Composite from the element up to the root, then over the canvas.
    const layers = [];
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      if (node instanceof SVGElement && !(node instanceof SVGSVGElement)) continue;
      const colour = rgba(getComputedStyle(node).backgroundColor);
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] === 1) break;
    }
    let painted = canvas;
    for (let i = layers.length - 1; i >= 0; i--) painted = over(layers[i], painted);
    return painted;
  }
  function opacity(element) {
    let value = 1;
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      value *= parseFloat(getComputedStyle(node).opacity);
    }
    return value;
  }
  function shown(element) {
    const style = getComputedStyle(element);
    const folded = "[hidden], dialog:not([open]), details:not([open]) > :not(summary)";
    if (style.visibility !== "visible" || element.closest(folded)) return false;
    const box = element.getBoundingClientRect();
    return box.width > 1 && box.height > 1 && opacity(element) > 0;
  }
  function describe(element) {
    const parts = [];
    for (let node = element; node && node.nodeType === 1 && parts.length < 4; node = node.parentElement) {
      parts.unshift(node.tagName.toLowerCase() + (node.id ? "#" + node.id : "") +
        (node.classList.length ? "." + Array.from(node.classList).join(".") : ""));
    }
    return parts.join(" > ");
  }
  const checked = new Set();
  const problems = [];
  function check(element, text) {
    if (checked.has(element) || !shown(element)) return;
    checked.add(element);
    if (element.matches(":disabled")) return;
    const style = getComputedStyle(element);
    const isSvgText = element instanceof SVGElement;
    let fg = rgba(isSvgText ? style.fill : style.color);
    fg = [fg[0], fg[1], fg[2], fg[3] * opacity(element)];
    const bg = background(element);
    const painted = over(fg, bg);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
    const needed = large ? 3 : 4.5;
    const value = ratio(painted, bg);
    if (value < needed) {
      problems.push({ where: describe(element), text: text.trim().slice(0, 40), ratio: Math.round(value * 100) / 100,
                      needed, color: style.color, background: `rgb(${bg.slice(0, 3).map(Math.round).join(" ")})` });
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    const element = node.parentElement;
    if (!element || element.closest("script, style, template, option, noscript")) continue;
    check(element, node.textContent);
  }
  const controls = "input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea";
  for (const control of document.querySelectorAll(controls)) {
    check(control, control.value || control.placeholder || control.tagName);
  }
  return { checked: checked.size, problems };
}
"""


def low_contrast(page):
    """``(checked, problems)``: how many elements with text were read, and those below AA."""
    found = page.evaluate(SCRIPT)
    return found["checked"], found["problems"]
