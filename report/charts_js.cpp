// The script that draws the report's charts with ECharts from the JSON block
// <script id="report-data">. It reads nothing else and fetches nothing; when every chart is
// drawn it sets data-charts-ready="N" (the number drawn) on <body>, which the browser test waits
// for.
#include "report/html.hpp"

namespace strata::report {

const std::string& charts_script() {
    static const std::string script = R"js((function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed', '#0891b2', '#db2777',
                 '#65a30d', '#ea580c', '#475569', '#0d9488', '#a855f7'];
  var charts = [];
  var pct = function (v) { return (v * 100).toFixed(1) + '%'; };
  var num = function (v) { return Number(v).toLocaleString('en-US', {maximumFractionDigits: 0}); };
  var base = {animation: false, color: palette, textStyle: {fontFamily: 'system-ui, sans-serif'}};
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) return;
    var chart = echarts.init(el, null, {renderer: 'canvas'});
    chart.setOption(Object.assign({}, base, option));
    charts.push(chart);
  }
  var general = data.segments;
  var labels = general.map(function (s) { return s.label; });
  // One colour per general segment, the same in every chart; segments only older runs had
  // come after, and customers new to the base or gone from it are grey.
  var order = general.map(function (s) { return s.id; });
  data.history.series.forEach(function (s) { if (order.indexOf(s.id) < 0) order.push(s.id); });
  var colorOf = function (id) {
    var i = order.indexOf(id);
    return i < 0 ? '#9ca3af' : palette[i % palette.length];
  };

  draw('chart-value-share', {
    title: {text: 'Share of customers vs share of value', left: 0, textStyle: {fontSize: 14}},
    tooltip: {trigger: 'axis', axisPointer: {type: 'shadow'}, valueFormatter: pct},
    legend: {top: 0, right: 0},
    grid: {left: 48, right: 16, top: 64, bottom: 72},
    xAxis: {type: 'category', data: labels, axisLabel: {rotate: 30, interval: 0}},
    yAxis: {type: 'value', axisLabel: {formatter: pct}},
    series: [
      {name: 'customers', type: 'bar', color: '#94a3b8',
       data: general.map(function (s) { return s.share; })},
      {name: 'value', type: 'bar', color: '#2563eb',
       data: general.map(function (s) { return s.value_share; })}
    ]
  });

  if (data.pareto.length) {
    var top20 = data.pareto.filter(function (p) { return Math.abs(p[0] - 0.2) < 1e-9; })[0];
    draw('chart-pareto', {
      title: {text: 'Pareto: customers, most valuable first', left: 0, textStyle: {fontSize: 14},
              subtext: top20 ? 'the top 20% of customers hold ' + pct(top20[1]) + ' of the value'
                             : ''},
      tooltip: {trigger: 'axis', formatter: function (p) {
        return pct(p[0].value[0]) + ' of customers hold ' + pct(p[0].value[1]) + ' of the value';
      }},
      grid: {left: 56, right: 24, top: 72, bottom: 48},
      xAxis: {type: 'value', min: 0, max: 1, name: 'customers', nameLocation: 'middle',
              nameGap: 28, axisLabel: {formatter: pct}},
      yAxis: {type: 'value', min: 0, max: 1, axisLabel: {formatter: pct}},
      series: [
        {name: 'cumulative value', type: 'line', showSymbol: false, areaStyle: {opacity: 0.15},
         data: data.pareto,
         markLine: {symbol: 'none', silent: true, lineStyle: {type: 'dashed', color: '#9ca3af'},
                    label: {show: false}, data: [[{coord: [0, 0]}, {coord: [1, 1]}]]}}
      ]
    });
  }

  if (data.rfm) {
    var bins = [];
    for (var b = 1; b <= data.rfm.bins; b++) bins.push(String(b));
    var most = 1;
    data.rfm.cells.forEach(function (c) { most = Math.max(most, c[2]); });
    draw('chart-rfm', {
      tooltip: {formatter: function (p) {
        return 'R ' + p.value[1] + ', F ' + p.value[0] + ': ' + num(p.value[2]) +
               ' customers, average value ' + Number(p.value[3]).toFixed(2);
      }},
      grid: {left: 64, right: 24, top: 16, bottom: 110},
      xAxis: {type: 'category', data: bins, name: 'F (frequency score)', nameLocation: 'middle',
              nameGap: 28, splitArea: {show: true}},
      yAxis: {type: 'category', data: bins, name: 'R (recency score)', nameLocation: 'middle',
              nameGap: 36, splitArea: {show: true}},
      visualMap: {min: 0, max: most, calculable: true, orient: 'horizontal', left: 'center',
                  bottom: 0, itemHeight: 160, dimension: 2, text: ['more customers', 'fewer'], inRange: {color: ['#eff6ff', '#60a5fa', '#1e3a8a']}},
      series: [{name: 'customers', type: 'heatmap', label: {show: true, formatter: function (p) {
        return num(p.value[2]);
      }}, data: data.rfm.cells.map(function (c) {
        return [String(c[0]), String(c[1]), c[2], c[3]];
      })}]
    });
  }

  var channels = [];
  general.forEach(function (s) {
    if (s.contacts > 0 && channels.indexOf(s.channel) < 0) channels.push(s.channel);
  });
  channels.sort();
  draw('chart-workload', {
    tooltip: {trigger: 'axis', axisPointer: {type: 'shadow'}, valueFormatter: num},
    legend: {top: 0, type: 'scroll'},
    grid: {left: 64, right: 16, top: 40, bottom: 32},
    xAxis: {type: 'category', data: channels},
    yAxis: {type: 'value'},
    series: general.filter(function (s) { return s.contacts > 0; }).map(function (s) {
      return {name: s.label, type: 'bar', stack: 'contacts', color: colorOf(s.id),
              data: channels.map(function (c) {
        return c === s.channel ? s.contacts : 0;
      })};
    })
  });

  if (data.moves) {
    var m = data.moves;
    var before = 'run ' + m.from_run + ': ', after = 'run ' + m.to_run + ': ';
    var used = {};
    m.flows.forEach(function (f) { used[before + f.from] = 1; used[after + f.to] = 1; });
    // Nodes in the rule file's order on both sides: new customers first on the left, those
    // who left last on the right.
    var nodes = [];
    var add = function (prefix, id) {
      if (used[prefix + id]) nodes.push({name: prefix + id, itemStyle: {color: colorOf(id)}});
    };
    add(before, '(new)');
    order.forEach(function (id) { add(before, id); });
    order.forEach(function (id) { add(after, id); });
    add(after, '(left)');
    draw('chart-moves', {
      tooltip: {trigger: 'item', valueFormatter: num},
      title: [{text: 'run ' + m.from_run, left: 8, top: 0, textStyle: {fontSize: 13}},
              {text: 'run ' + m.to_run, right: 8, top: 0, textStyle: {fontSize: 13}}],
      series: [{type: 'sankey', left: 8, right: 120, top: 28, bottom: 8, nodeGap: 10,
                nodeAlign: 'justify', layoutIterations: 0, emphasis: {focus: 'adjacency'},
                lineStyle: {color: 'source', opacity: 0.3},
                label: {formatter: function (p) { return p.name.replace(/^run [0-9]+: /, ''); }},
                data: nodes, links: m.flows.map(function (f) {
                  return {source: before + f.from, target: after + f.to, value: f.count};
                })}]
    });
  }

  var h = data.history;
  draw('chart-history', {
    tooltip: {trigger: 'axis', valueFormatter: num},
    legend: {top: 0, type: 'scroll'},
    grid: {left: 64, right: 24, top: 40, bottom: 32},
    xAxis: {type: 'category', boundaryGap: false, data: h.runs},
    yAxis: {type: 'value'},
    series: h.series.map(function (s) {
      return {name: s.id, type: 'line', stack: 'customers', areaStyle: {opacity: 0.75},
              symbol: 'circle', color: colorOf(s.id), data: s.counts};
    })
  });

  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.resize(); });
  });
  document.body.setAttribute('data-charts-ready', String(charts.length));
})();
)js";
    return script;
}

}  // namespace strata::report
