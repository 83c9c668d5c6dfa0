package demo

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
)

// JPEG renders a synthetic greyscale "radiograph" (a chest-like pair of
// soft ellipses over a dark field) deterministically from seed. It is a
// picture of nothing: it exists so the imaging demo document has a real
// JPEG to show.
func JPEG(seed int64, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	cx, cy := float64(w)/2, float64(h)/2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x), float64(y)
			v := 20.0
			// two lung fields
			for _, side := range []float64{-1, 1} {
				dx := (fx - (cx + side*float64(w)*0.18)) / (float64(w) * 0.16)
				dy := (fy - cy) / (float64(h) * 0.33)
				if d := dx*dx + dy*dy; d < 1 {
					v += 70 * (1 - d)
				}
			}
			// spine
			if math.Abs(fx-cx) < float64(w)*0.03 {
				v += 120
			}
			// ribs
			if math.Mod(fy+float64(seed%17), float64(h)/12) < 3 && math.Abs(fx-cx) < float64(w)*0.36 {
				v += 60
			}
			// grain
			n := float64((int64(x)*73856093^int64(y)*19349663^seed)&15) - 7
			v += n
			img.SetGray(x, y, color.Gray{Y: uint8(math.Max(0, math.Min(255, v)))})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err) // encoding into a bytes.Buffer cannot fail
	}
	return b.Bytes()
}
