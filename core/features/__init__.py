"""Light-curve features: dm-dt histograms, multiband periods, folded light curves and summary statistics."""
