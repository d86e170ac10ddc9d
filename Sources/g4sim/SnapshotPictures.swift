import ArgumentParser
import Foundation
import Parallel
import Snapshots

/// What a dashboard shows of a run's outputs, read with g4sim's own readers:
/// the masses of a FoF catalogue, and a projected density image.
extension SnapshotCommand {
    struct Groups: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a FoF catalogue's group masses as one JSON line (internal units; unit_mass_g converts).")

        @Argument(help: "A fof_tab_NNN.hdf5 file.")
        var catalogue: String

        func run() throws {
            try withMPI { world in
                guard world.isRoot else { return }
                let file = try HDF5File.open(catalogue, communicator: .selfOnly)
                defer { try? file.close() }
                let header = try file.root.openGroup("Header").attributes
                func number(_ name: String) -> Double { ((try? header.read(name))?.value.doubles?.first) ?? 0 }
                var masses: [Double] = []
                if file.root.contains("Group") {
                    let group = try file.root.openGroup("Group")
                    let dataset = try group.openDataset("GroupMass")
                    masses = try dataset.read(Double.self, startRow: 0, rows: dataset.shape.first ?? 0)
                }
                let parameters = file.root.contains("Parameters") ? try file.root.openGroup("Parameters").attributes.readAll() : []
                let unitMass = parameters.first { $0.name == "UnitMass_in_g" }?.value.doubles?.first ?? 1.989e43
                let list = masses.map { String($0) }.joined(separator: ",")
                emit("{\"time\":\(number("Time")),\"box_size\":\(number("BoxSize")),\"unit_mass_g\":\(unitMass),\"masses\":[\(list)]}")
            }
        }
    }

    struct Density: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render a snapshot's projected density (along z) as a PNG image.",
            discussion: "Each particle's mass goes to the pixels around it (cloud in cell, periodic); the image shows log10 of the projected density over its mean, from 0.3 to 100 times the mean, on a dark-to-bright colour scale.")

        @Argument(help: "Snapshot as GADGET-4 names it.")
        var snapshot: String

        @Option(help: "Pixels per side.")
        var pixels: Int = 512

        @Option(help: "The PNG file to write.")
        var output: String

        func validate() throws {
            guard (16...4096).contains(pixels) else { throw ValidationError("--pixels must be from 16 to 4096") }
        }

        func run() throws {
            try withMPI { world in
                let (header, block) = try HDF5Snapshot.read(paths: try SnapshotPaths.input(snapshot, numFiles: HDF5Snapshot.numFiles),
                                                            communicator: world)
                let n = pixels
                var grid = [Double](repeating: 0, count: n * n)
                let scale = Double(n) / header.boxSize
                for i in 0..<block.count {
                    let x = block.positions[3 * i] * scale - 0.5, y = block.positions[3 * i + 1] * scale - 0.5
                    let ix = Int(x.rounded(.down)), iy = Int(y.rounded(.down))
                    let fx = x - Double(ix), fy = y - Double(iy)
                    for (dx, wx) in [(0, 1 - fx), (1, fx)] {
                        for (dy, wy) in [(0, 1 - fy), (1, fy)] {
                            let px = ((ix + dx) % n + n) % n, py = ((iy + dy) % n + n) % n
                            grid[py * n + px] += wx * wy
                        }
                    }
                }
                world.allreduceInPlace(&grid, .sum)
                guard world.isRoot else { return }
                let mean = Double(header.totalParticles) / Double(n * n)
                var rgb = [UInt8](repeating: 0, count: 3 * n * n)
                for row in 0..<n {
                    for column in 0..<n {
                        // Image rows run top to bottom, y upwards.
                        let value = grid[(n - 1 - row) * n + column] / mean
                        let t = min(1, max(0, (log10(max(value, 1e-12)) + 0.5) / 2.5))
                        let (r, g, b) = DensityColours.colour(t)
                        let at = 3 * (row * n + column)
                        rgb[at] = r; rgb[at + 1] = g; rgb[at + 2] = b
                    }
                }
                let png = PNGImage.encode(rgb: rgb, width: n, height: n)
                let temporary = output + ".incomplete"
                guard FileManager.default.createFile(atPath: temporary, contents: png), rename(temporary, output) == 0 else {
                    throw SnapshotFormatError("cannot write \(output)")
                }
                emit("wrote \(output) (\(n)×\(n), \(header.totalParticles) particles at a = \(header.time))")
            }
        }
    }
}

/// A dark-to-bright scale (black, purple, orange, pale yellow) for density images.
enum DensityColours {
    static let stops: [(Double, Double, Double)] = [(0, 0, 4), (80, 18, 123), (182, 54, 121), (251, 136, 97), (252, 253, 191)]

    static func colour(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let x = t * Double(stops.count - 1)
        let i = min(stops.count - 2, Int(x))
        let u = x - Double(i)
        func mix(_ a: Double, _ b: Double) -> UInt8 { UInt8(max(0, min(255, (a + (b - a) * u).rounded()))) }
        return (mix(stops[i].0, stops[i + 1].0), mix(stops[i].1, stops[i + 1].1), mix(stops[i].2, stops[i + 1].2))
    }
}

/// The PNG format (RGB, 8 bits a channel) with its zlib stream in stored
/// (uncompressed) blocks: valid for every PNG reader, and no compression
/// library is needed for images of at most a few MB.
enum PNGImage {
    static func encode(rgb: [UInt8], width: Int, height: Int) -> Data {
        var raw: [UInt8] = []
        raw.reserveCapacity((3 * width + 1) * height)
        for row in 0..<height {
            raw.append(0)  // filter: none
            raw.append(contentsOf: rgb[(3 * width * row)..<(3 * width * (row + 1))])
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let count = min(65535, raw.count - offset)
            let last: UInt8 = offset + count == raw.count ? 1 : 0
            zlib += [last, UInt8(count & 0xff), UInt8(count >> 8), UInt8(~count & 0xff), UInt8((~count >> 8) & 0xff)]
            zlib += raw[offset..<(offset + count)]
            offset += count
        } while offset < raw.count
        zlib += bigEndian(adler32(raw))
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func chunk(_ type: String, _ data: [UInt8]) {
            let typed = Array(type.utf8) + data
            png += bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
        }
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
        chunk("IDAT", zlib)
        chunk("IEND", [])
        return Data(png)
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return b << 16 | a
    }
}
