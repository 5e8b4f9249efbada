// Charts through Chart.js (window.Chart, loaded by index.html). Each page's charts are destroyed
// when the page changes, so canvases and their listeners do not pile up.
const live = new Set();

export function destroyCharts() {
  for (const c of live) c.destroy();
  live.clear();
}

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#65a30d', '#db2777'];

/** A chart in a fixed-height box; datasets get the palette in order unless they bring colours. */
export function chart(container, { type, labels, datasets, title, stacked = false, logY = false, yTitle, y2Title }) {
  const canvas = document.createElement('canvas');
  const box = document.createElement('div');
  box.className = 'chart';
  box.append(canvas);
  container.append(box);
  const hasY2 = datasets.some((d) => d.yAxisID === 'y2');
  const c = new window.Chart(canvas, {
    type,
    data: {
      labels,
      datasets: datasets.map((d, i) => ({ backgroundColor: COLORS[i % COLORS.length] + (type === 'line' ? '33' : 'cc'), borderColor: COLORS[i % COLORS.length], borderWidth: type === 'line' ? 2 : 0, ...d })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { title: { display: Boolean(title), text: title }, legend: { position: 'bottom' } },
      scales: {
        x: { stacked },
        y: { stacked, type: logY ? 'logarithmic' : 'linear', beginAtZero: !logY, title: { display: Boolean(yTitle), text: yTitle } },
        ...(hasY2 ? { y2: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: Boolean(y2Title), text: y2Title } } } : {}),
      },
    },
  });
  live.add(c);
  return c;
}
