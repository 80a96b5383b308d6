
BoutputJ(1ò–?PJ‘¾L¿„mÎ¾Sµ/¿A0È¿À3¨¿~Ý¾Ë†Y¿TQ>