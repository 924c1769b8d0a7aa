// ECharts, drawn as SVG so every label is text a person (or a test) can find.

const live = new Set();

export function chart(element, option) {
  const instance = window.echarts.init(element, null, { renderer: "svg" });
  instance.setOption({ animation: false, textStyle: { fontFamily: "system-ui, sans-serif" }, ...option });
  live.add(instance);
  return instance;
}

// Dispose the charts drawn inside `element` (every chart when none is given).
export function dispose(element) {
  for (const instance of [...live]) {
    if (!element || element.contains(instance.getDom())) {
      instance.dispose();
      live.delete(instance);
    }
  }
}

window.addEventListener("resize", () => live.forEach((instance) => instance.resize()));

export const palette = {
  accent: "#0f766e", bad: "#b42318", warn: "#b54708", good: "#027a48", muted: "#9aa5b1", info: "#2563eb",
};
