import Foundation

/// A log–log plot rendered as SVG on the server: axes with a tick and grid
/// line per decade, series as lines or markers with error bars, a legend.
/// Every part carries a class (`x-axis`, `y-axis`, `tick`, `series`,
/// `error-bar`, `legend`), so a browser test can check axes and series in
/// the DOM, which a canvas chart would not allow.
struct SVGPlot {
    enum Style { case line, dashed, markers }

    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var style: Style = .line
        /// Lower and upper y of each point's error bar (markers only).
        var errors: [(low: Double, high: Double)] = []
    }

    var kind: String
    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series] = []
    var width = 640.0, height = 420.0

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

    func render() -> String {
        let margin = (left: 78.0, right: 150.0, top: 34.0, bottom: 52.0)
        let plotW = width - margin.left - margin.right, plotH = height - margin.top - margin.bottom
        let xs = series.flatMap { $0.points.map(\.x) }.filter { $0 > 0 && $0.isFinite }
        let ys = (series.flatMap { $0.points.map(\.y) } + series.flatMap { $0.errors.map(\.low) }).filter { $0 > 0 && $0.isFinite }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" data-plot=\"\(kind)\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">"
        svg += "<text class=\"title\" x=\"\(margin.left)\" y=\"20\" font-size=\"14\">\(Self.escape(title))</text>"
        guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else {
            return svg + "<text class=\"empty\" x=\"\(margin.left)\" y=\"\(margin.top + 40)\">no data yet</text></svg>"
        }
        let xLo = floor(log10(x0)), xHi = max(ceil(log10(x1)), xLo + 1)
        let yLo = floor(log10(y0)), yHi = max(ceil(log10(y1)), yLo + 1)
        func px(_ x: Double) -> Double { margin.left + (log10(x) - xLo) / (xHi - xLo) * plotW }
        func py(_ y: Double) -> Double { margin.top + (1 - (log10(y) - yLo) / (yHi - yLo)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        svg += "<rect x=\"\(f(margin.left))\" y=\"\(f(margin.top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#444\"/>"
        svg += "<g class=\"axis x-axis\" data-label=\"\(Self.escape(xLabel))\">"
        for d in stride(from: xLo, through: xHi, by: 1) {
            let x = margin.left + (d - xLo) / (xHi - xLo) * plotW
            svg += "<line class=\"grid\" x1=\"\(f(x))\" y1=\"\(f(margin.top))\" x2=\"\(f(x))\" y2=\"\(f(margin.top + plotH))\" stroke=\"#ddd\"/>"
            svg += "<text class=\"tick\" x=\"\(f(x))\" y=\"\(f(margin.top + plotH + 16))\" text-anchor=\"middle\">\(Self.decade(d))</text>"
        }
        svg += "<text class=\"label\" x=\"\(f(margin.left + plotW / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text></g>"
        svg += "<g class=\"axis y-axis\" data-label=\"\(Self.escape(yLabel))\">"
        for d in stride(from: yLo, through: yHi, by: 1) {
            let y = margin.top + (1 - (d - yLo) / (yHi - yLo)) * plotH
            svg += "<line class=\"grid\" x1=\"\(f(margin.left))\" y1=\"\(f(y))\" x2=\"\(f(margin.left + plotW))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>"
            svg += "<text class=\"tick\" x=\"\(f(margin.left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Self.decade(d))</text>"
        }
        svg += "<text class=\"label\" transform=\"translate(18 \(f(margin.top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text></g>"

        svg += "<g class=\"legend\">"
        for (i, s) in series.enumerated() {
            let colour = Self.palette[i % Self.palette.count]
            let y = margin.top + 14 + Double(i) * 18
            let x = margin.left + plotW + 12
            let dash = s.style == .dashed ? " stroke-dasharray=\"5 3\"" : ""
            if s.style == .markers {
                svg += "<circle cx=\"\(f(x + 10))\" cy=\"\(f(y - 4))\" r=\"3\" fill=\"\(colour)\"/>"
            } else {
                svg += "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 20))\" y2=\"\(f(y - 4))\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>"
            }
            svg += "<text x=\"\(f(x + 26))\" y=\"\(f(y))\">\(Self.escape(s.name))</text>"
        }
        svg += "</g>"

        for (i, s) in series.enumerated() {
            let colour = Self.palette[i % Self.palette.count]
            let points = s.points.enumerated().filter { $0.element.x > 0 && $0.element.y > 0 && $0.element.x.isFinite && $0.element.y.isFinite }
            svg += "<g class=\"series\" data-name=\"\(Self.escape(s.name))\" data-points=\"\(points.count)\">"
            switch s.style {
            case .line, .dashed:
                let d = points.map { "\(f(px($0.element.x))),\(f(py($0.element.y)))" }.joined(separator: " L")
                let dash = s.style == .dashed ? " stroke-dasharray=\"5 3\"" : ""
                if !points.isEmpty { svg += "<path d=\"M\(d)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.6\"\(dash)/>" }
            case .markers:
                for (index, p) in points {
                    if index < s.errors.count {
                        let e = s.errors[index]
                        let low = e.low > 0 ? py(e.low) : margin.top + plotH
                        svg += "<line class=\"error-bar\" x1=\"\(f(px(p.x)))\" y1=\"\(f(low))\" x2=\"\(f(px(p.x)))\" y2=\"\(f(py(e.high)))\" stroke=\"\(colour)\"/>"
                    }
                    svg += "<circle class=\"point\" cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(colour)\"/>"
                }
            }
            svg += "</g>"
        }
        return svg + "</svg>"
    }

    /// 10^d written as 0.01, 0.1, 1, 10, 100, or 1e5 beyond.
    static func decade(_ d: Double) -> String {
        let n = Int(d)
        switch n {
        case -2...(-1): return String(format: "%.\(-n)f", pow(10, d))
        case 0...3: return String(Int(pow(10, d)))
        default: return "1e\(n)"
        }
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
