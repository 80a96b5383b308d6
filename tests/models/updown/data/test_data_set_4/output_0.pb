BoutputJY=??LA$¿Ìß
?Ëmmø